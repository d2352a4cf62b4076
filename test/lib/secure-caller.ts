/**
 * A caller keying digits into a real uplink: DTMF tones (60 ms, -8/-6 dBm0) with 80 ms of low noise
 * between them, pushed in 20 ms blocks through an `UplinkDsp`, encoded to µ-law like the RTP
 * packetiser, and handed to a sink (the payment manager's second check, a recorder).
 */
import { encode } from '../../controller/media/g711';
import type { UplinkDsp } from '../../controller/dsp/uplink-dsp';
import { DTMF_DIGITS, dtmfTone, type DtmfDigit } from '../../controller/dsp/tone-generator';
import { keyCodes } from './secure-cards';

export const BLOCK_SAMPLES = 160;

/** Linear audio of `keys` ("0-9*#") keyed with human-like spacing, plus trailing quiet. */
export function keyedAudio(keys: string, toneMs = 60, gapMs = 80): Int16Array {
  return keyedAudioCodes(keyCodes(keys), toneMs, gapMs);
}

/** The same from DTMF codes (0–15), for canaries that must never exist as a string. */
export function keyedAudioCodes(codes: readonly number[], toneMs = 60, gapMs = 80): Int16Array {
  const parts: Int16Array[] = [];
  let seed = 12345;
  const gap = (ms: number) => {
    const g = new Int16Array((ms * 8000) / 1000);
    for (let i = 0; i < g.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      g[i] = ((seed >> 16) % 21) - 10;
    }
    return g;
  };
  parts.push(gap(200));
  for (const code of codes) {
    parts.push(dtmfTone(DTMF_DIGITS[code] as DtmfDigit, { durationMs: toneMs }));
    parts.push(gap(gapMs));
  }
  parts.push(gap(300));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Int16Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Pushes `audio` through `dsp` block by block; each encoded block goes to `onPayload`. */
export function pushThrough(dsp: UplinkDsp, audio: Int16Array, onPayload: (payload: Uint8Array, linear: Int16Array) => void): void {
  for (let i = 0; i < audio.length; i += BLOCK_SAMPLES) {
    const input = audio.subarray(i, Math.min(audio.length, i + BLOCK_SAMPLES));
    const output = new Int16Array(input.length);
    dsp.process(input, output);
    onPayload(encode('ulaw', output), output);
  }
}
