/**
 * The audio that left the appliance, checked by detectors nobody here wrote (issue #6): RTP payloads
 * taken from a loopback capture with tshark, one stream per SSRC, decoded from G.711 by sox (not by
 * the product's codec) to 8 kHz WAV, then run through SpanDSP's dtmf_rx (test/interop/harness/
 * spandsp-dtmf.c) and multimon-ng's DTMF decoder. RFC 4733 events in the streams are decoded too.
 *
 * A detected digit sequence that holds four or more consecutive digits of a canary's keyed sequence
 * is a hit (`digitRunHits`).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { multimonDetect, spandspDetect } from './dsp-peers';

export interface RtpStream {
  ssrc: string;
  /** RTP payload type of the audio (0 PCMU, 8 PCMA). */
  payloadType: number;
  packets: number;
  /** G.711 bytes in arrival order. */
  audio: Buffer;
  /** RFC 4733 event codes (one per event, end-of-event packets folded). */
  events: string;
}

const EVENT_CHARS = '0123456789*#ABCD';

/** Audio streams sent to `dstPort` in the capture, grouped by SSRC. */
export function rtpStreamsTo(pcap: string, dstPort: number): RtpStream[] {
  const r = spawnSync('tshark', ['-r', pcap, '-d', `udp.port==${dstPort},rtp`, '-Y', `rtp && udp.dstport==${dstPort}`, '-T', 'fields', '-e', 'rtp.ssrc', '-e', 'rtp.p_type', '-e', 'rtp.timestamp', '-e', 'rtp.payload'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`tshark on ${pcap} exited ${r.status ?? 'null'}: ${r.stderr}`);
  const streams = new Map<string, { pt: number; packets: number; chunks: Buffer[]; events: string; lastEventTs: string }>();
  for (const line of r.stdout.split('\n')) {
    const [ssrc, ptText, ts, hex] = line.split('\t');
    if (!ssrc || !ptText || hex === undefined) continue;
    const pt = Number(ptText);
    const payload = Buffer.from(hex.replace(/:/g, ''), 'hex');
    const s = streams.get(ssrc) ?? { pt: -1, packets: 0, chunks: [], events: '', lastEventTs: '' };
    streams.set(ssrc, s);
    s.packets++;
    if (pt === 0 || pt === 8) {
      s.pt = pt;
      s.chunks.push(payload);
    } else if (payload.length >= 4 && ts !== s.lastEventTs) {
      // RFC 4733 §2.3: one event spans packets with the same timestamp.
      s.lastEventTs = ts ?? '';
      s.events += EVENT_CHARS[payload[0] ?? 0] ?? '?';
    }
  }
  return [...streams.entries()].map(([ssrc, s]) => ({ ssrc, payloadType: s.pt, packets: s.packets, audio: Buffer.concat(s.chunks), events: s.events }));
}

/** G.711 → 8 kHz 16-bit mono WAV by sox; returns the linear samples (the WAV is kept at `wavPath`). */
export function decodeG711(audio: Buffer, payloadType: number, wavPath: string): Int16Array {
  const law = payloadType === 8 ? 'al' : 'ul';
  const raw = `${wavPath}.${law}`;
  writeFileSync(raw, audio);
  const s = spawnSync('sox', ['-t', law, '-r', '8000', '-c', '1', raw, '-b', '16', '-e', 'signed-integer', wavPath], { encoding: 'utf8' });
  if (s.status !== 0) throw new Error(`sox decode failed: ${s.stderr}`);
  const wav = readFileSync(wavPath);
  const data = wav.indexOf('data', 12, 'latin1');
  if (data < 0) throw new Error(`${wavPath}: no data chunk`);
  const body = wav.subarray(data + 8);
  const out = new Int16Array(body.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = body.readInt16LE(2 * i);
  return out;
}

export interface StreamVerdict {
  ssrc: string;
  seconds: number;
  spandsp: string;
  multimon: string;
  events: string;
}

/** Decodes every stream and runs both detectors; WAVs go to `dir`. */
export function detectInStreams(streams: readonly RtpStream[], dir: string): StreamVerdict[] {
  return streams.map((s, i) => {
    const samples = decodeG711(s.audio, s.payloadType, join(dir, `stream-${i}.wav`));
    return {
      ssrc: s.ssrc,
      seconds: samples.length / 8000,
      spandsp: spandspDetect(samples)
        .map((d) => d.digit)
        .join(''),
      multimon: multimonDetect(samples),
      events: s.events,
    };
  });
}

export interface DigitRunHit {
  source: string;
  canary: number;
  run: string;
}

/** Windows of ≥ `minRun` digits of `detected` that occur in a canary's keyed sequence. */
export function digitRunHits(source: string, detected: string, keyed: readonly { index: number; keys: string }[], minRun = 4): DigitRunHit[] {
  const hits: DigitRunHit[] = [];
  for (let i = 0; i + minRun <= detected.length; i++) {
    const w = detected.slice(i, i + minRun);
    for (const k of keyed) if (k.keys.includes(w)) hits.push({ source, canary: k.index, run: w });
  }
  return hits;
}
