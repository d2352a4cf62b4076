/**
 * Plays a caller's audio items (speech, keypresses, silence, WAV) as one continuous stream of
 * 16-bit linear samples at 8 kHz, read block by block by the TDM tick. Each item is rendered when
 * the stream reaches it.
 *
 * Keypresses have human timing (seeded, so runs are reproducible): tone 60–120 ms, gap 150–600 ms,
 * unless the script fixes them. The timing of each key is recorded (sample offsets from the start of
 * the stream) so tests can check it; the digits themselves are not recorded anywhere.
 */
import { dtmfTone, isDtmfDigit } from '../../controller/dsp/tone-generator';
import { TonewallError } from '../base/errors';
import type { AudioItem } from './call-script';
import type { SeededRandom } from './seeded-random';
import { synthesizeSpeech } from './speech-synth';

export const KEY_TONE_MS = { min: 60, max: 120 } as const;
export const KEY_GAP_MS = { min: 150, max: 600 } as const;
/** Speech is rendered in pieces of at most this long (~4 ms of CPU each). */
export const SPEECH_PIECE_MS = 2000;

/** When one key was sent, in samples from the start of the caller's audio. No digit. */
export interface KeypressTiming {
  startSample: number;
  toneSamples: number;
  gapSamples: number;
}

export interface CallerAudioOptions {
  items: readonly AudioItem[];
  rng: SeededRandom;
  /** Loads a WAV item (16-bit mono 8 kHz); injected so unit tests need no files. */
  loadWav: (path: string) => Int16Array;
}

const msToSamples = (ms: number): number => Math.round(ms * 8);

export class CallerAudio {
  private itemIndex = 0;
  private current: Int16Array = new Int16Array(0);
  private pos = 0;
  /** Samples played out so far (items are rendered only once the previous one is fully out). */
  private samplesOut = 0;
  /** What is left of a long speech item still to be rendered, ms. */
  private speechLeftMs = 0;
  readonly keypresses: KeypressTiming[] = [];

  constructor(private readonly opts: CallerAudioOptions) {}

  /** True once every item has been played out. */
  get done(): boolean {
    return this.pos >= this.current.length && this.speechLeftMs === 0 && this.itemIndex >= this.opts.items.length;
  }

  /** Fills `out` with the next samples (zeros after the end); returns how many were audio. */
  read(out: Int16Array): number {
    let n = 0;
    while (n < out.length) {
      if (this.pos >= this.current.length) {
        if (!this.loadNext()) break;
        continue;
      }
      const take = Math.min(out.length - n, this.current.length - this.pos);
      out.set(this.current.subarray(this.pos, this.pos + take), n);
      this.pos += take;
      this.samplesOut += take;
      n += take;
    }
    out.fill(0, n);
    return n;
  }

  private loadNext(): boolean {
    if (this.speechLeftMs > 0) {
      const ms = Math.min(SPEECH_PIECE_MS, this.speechLeftMs);
      this.speechLeftMs -= ms;
      this.current = synthesizeSpeech(ms, this.opts.rng);
      this.pos = 0;
      return true;
    }
    const item = this.opts.items[this.itemIndex];
    if (!item) return false;
    this.itemIndex++;
    this.current = this.render(item);
    this.pos = 0;
    return true;
  }

  private render(item: AudioItem): Int16Array {
    if ('speech' in item) {
      // Long speech is made piece by piece so rendering never stalls the TDM tick for long.
      const ms = Math.min(SPEECH_PIECE_MS, item.speech);
      this.speechLeftMs = item.speech - ms;
      return synthesizeSpeech(ms, this.opts.rng);
    }
    if ('silence' in item) return new Int16Array(msToSamples(item.silence));
    if ('wav' in item) return this.opts.loadWav(item.wav);
    return this.renderKeys(item.keys, item.toneMs, item.gapMs);
  }

  private renderKeys(keys: string, toneMs: number | undefined, gapMs: number | undefined): Int16Array {
    const rng = this.opts.rng;
    const parts: { tone: Int16Array; gapSamples: number }[] = [];
    for (let i = 0; i < keys.length; i++) {
      const digit = keys.charAt(i);
      // The message names the position only: the digits are test card data.
      if (!isDtmfDigit(digit)) throw new TonewallError('SIM_SCRIPT_INVALID', `key ${i + 1} of ${keys.length} is not a DTMF digit (expected 0-9 * # A-D)`);
      const tone = dtmfTone(digit, { durationMs: toneMs ?? rng.intBetween(KEY_TONE_MS.min, KEY_TONE_MS.max) });
      parts.push({ tone, gapSamples: msToSamples(gapMs ?? rng.intBetween(KEY_GAP_MS.min, KEY_GAP_MS.max)) });
    }
    const total = parts.reduce((s, p) => s + p.tone.length + p.gapSamples, 0);
    const out = new Int16Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p.tone, at);
      this.keypresses.push({ startSample: this.samplesOut + at, toneSamples: p.tone.length, gapSamples: p.gapSamples });
      at += p.tone.length + p.gapSamples;
    }
    return out;
  }
}
