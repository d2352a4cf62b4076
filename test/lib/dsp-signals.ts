/**
 * Test signals for the DSP: DTMF sequences with chosen levels, twist, frequency error, durations and
 * pauses; white noise at a given S/N; G.711 round trips; speech-like and music-like signals.
 * Deterministic (seeded PRNG) so a failing case can be replayed.
 */
import { decode, encode, type CompandingLaw } from '../../controller/media/g711';
import { addTones, dbm0ToPeak, dtmfFrequencies, DTMF_DIGITS, type DtmfDigit } from '../../controller/dsp/tone-generator';

export const FS = 8000;

export function msToSamples(ms: number): number {
  return Math.round((ms * FS) / 1000);
}

/** Mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ToneSpec {
  digit: DtmfDigit;
  durationMs: number;
  /** Level of the low (row) tone, dBm0. */
  rowLevelDbm0?: number;
  /** High minus low level, dB (positive: reverse twist). */
  twistDb?: number;
  /** Frequency error applied to both tones, percent. */
  deviationPct?: number;
  /** Frequency error of the row tone only (overrides deviationPct for it). */
  rowDeviationPct?: number;
  colDeviationPct?: number;
}

/** Places `tones` one after another with `pauseMs` of silence before each and after the last. */
export function dtmfSequence(tones: readonly ToneSpec[], pauseMs: number, leadMs = pauseMs): { samples: Int16Array; starts: number[]; ends: number[] } {
  const pause = msToSamples(pauseMs);
  let total = msToSamples(leadMs) + pause;
  for (const t of tones) total += msToSamples(t.durationMs) + pause;
  const out = new Int16Array(total);
  const starts: number[] = [];
  const ends: number[] = [];
  let at = msToSamples(leadMs);
  for (const t of tones) {
    const n = msToSamples(t.durationMs);
    const { rowHz, colHz } = dtmfFrequencies(t.digit);
    const rowLevel = t.rowLevelDbm0 ?? -8;
    const rowDev = t.rowDeviationPct ?? t.deviationPct ?? 0;
    const colDev = t.colDeviationPct ?? t.deviationPct ?? 0;
    addTones(out, at, n, [
      { hz: rowHz * (1 + rowDev / 100), levelDbm0: rowLevel },
      { hz: colHz * (1 + colDev / 100), levelDbm0: rowLevel + (t.twistDb ?? 0) },
    ], at);
    starts.push(at);
    ends.push(at + n);
    at += n + pause;
  }
  return { samples: out, starts, ends };
}

/** Adds white Gaussian noise of `levelDbm0` (mean power relative to a 0 dBm0 sine). */
export function addNoise(samples: Int16Array, levelDbm0: number, seed = 1): Int16Array {
  const rnd = prng(seed);
  const rms = dbm0ToPeak(levelDbm0) / Math.SQRT2;
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const g = Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
    const v = (samples[i] as number) + rms * g;
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
  }
  return out;
}

/** Encodes and decodes through G.711 (what the card and RTP do to the audio). */
export function g711RoundTrip(samples: Int16Array, law: CompandingLaw): Int16Array {
  return decode(law, encode(law, samples));
}

export function digitAt(code: number): DtmfDigit {
  return DTMF_DIGITS[code] as DtmfDigit;
}

export function codeOf(digit: DtmfDigit): number {
  return DTMF_DIGITS.indexOf(digit);
}

/** Digits of a list of events as a string (tests only; product code never makes one). */
export function digitString(events: readonly { code: number }[]): string {
  return events.map((e) => DTMF_DIGITS[e.code] ?? '?').join('');
}

/**
 * A speech-like signal with no DTMF: voiced segments (pitch 90–250 Hz with vibrato, harmonics shaped
 * by moving formants), unvoiced noise bursts and pauses. Deliberately rich in 600–1700 Hz energy.
 */
export function speechLike(durationMs: number, seed: number): Int16Array {
  const rnd = prng(seed);
  const n = msToSamples(durationMs);
  const out = new Int16Array(n);
  let i = 0;
  while (i < n) {
    const segment = msToSamples(60 + rnd() * 240);
    const kind = rnd();
    const f0 = 90 + rnd() * 160;
    // Intonation: the pitch glides by up to ±15 % over a segment, as in running speech.
    const glide = (rnd() - 0.5) * 0.3;
    const f1 = 300 + rnd() * 600;
    const f2 = 900 + rnd() * 1400;
    const level = dbm0ToPeak(-20 + rnd() * 12);
    let phase = 0;
    for (let k = 0; k < segment && i < n; k++, i++) {
      let v = 0;
      if (kind < 0.6) {
        const pitch = f0 * (1 + (glide * k) / segment + 0.02 * Math.sin((2 * Math.PI * 5 * k) / FS));
        phase += (2 * Math.PI * pitch) / FS;
        for (let h = 1; h * pitch < 3400; h++) {
          const fh = h * pitch;
          const g = 1 / (1 + ((fh - f1) / 150) ** 2) + 0.6 / (1 + ((fh - f2) / 200) ** 2);
          v += g * Math.sin(h * phase);
        }
        v *= level / 2;
      } else if (kind < 0.8) {
        v = (rnd() - 0.5) * level * 0.5;
      }
      out[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
    }
  }
  return out;
}

/** A music-like signal with no DTMF: chords of equal-tempered notes (8 harmonics), changing every beat. */
export function musicLike(durationMs: number, seed: number): Int16Array {
  const rnd = prng(seed);
  const n = msToSamples(durationMs);
  const out = new Int16Array(n);
  let i = 0;
  while (i < n) {
    const beat = msToSamples(150 + rnd() * 350);
    const notes = [0, 1, 2].map(() => 220 * Math.pow(2, Math.floor(rnd() * 30) / 12));
    const level = dbm0ToPeak(-18 + rnd() * 8);
    for (let k = 0; k < beat && i < n; k++, i++) {
      const env = Math.exp(-k / (beat * 0.6));
      let v = 0;
      for (const f of notes) for (let h = 1; h <= 8; h++) v += Math.sin((2 * Math.PI * f * h * i) / FS) / h;
      out[i] = Math.max(-32768, Math.min(32767, Math.round((v * level * env) / 3)));
    }
  }
  return out;
}

/** Energy of `samples[from, to)` at `hz` (Goertzel), as a peak amplitude estimate. */
export function toneAmplitude(samples: Int16Array, from: number, to: number, hz: number): number {
  const w = (2 * Math.PI * hz) / FS;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = Math.max(0, from); i < Math.min(samples.length, to); i++) {
    const s0 = (samples[i] as number) + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - c * s1 * s2;
  const n = Math.min(samples.length, to) - Math.max(0, from);
  return n > 0 ? (2 * Math.sqrt(Math.max(0, power))) / n : 0;
}
