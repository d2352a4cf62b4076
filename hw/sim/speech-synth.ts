/**
 * Speech-like audio for the simulated callers: a small formant synthesiser (a glottal pulse train
 * through three cascaded resonators, Klatt-style), vowels from the Peterson & Barney (1952) formant
 * table, syllables of 120–280 ms under a raised-cosine envelope (so the amplitude is modulated at a
 * syllable rate of ~4–5 Hz), occasional noise-burst consonants, and pauses between words and phrases.
 *
 * It is not intelligible speech; it is a stand-in with the properties the appliance's DSP cares
 * about: broadband voiced energy with harmonics of a moving pitch, formant structure in the DTMF
 * band (so talk-off is exercised), syllable-rate modulation and silent gaps. Output is 16-bit
 * linear at 8 kHz, normalised so its active (non-pause) RMS is `levelDbm0`.
 */
import { DBM0_PEAK, SAMPLE_RATE } from '../../controller/dsp/tone-generator';
import type { SeededRandom } from './seeded-random';

/** F1, F2, F3 in Hz (Peterson & Barney 1952, adult male averages). */
const VOWEL_FORMANTS_HZ: readonly (readonly [number, number, number])[] = [
  [270, 2290, 3010],
  [390, 1990, 2550],
  [530, 1840, 2480],
  [660, 1720, 2410],
  [730, 1090, 2440],
  [570, 840, 2410],
  [440, 1020, 2240],
  [300, 870, 2240],
  [640, 1190, 2390],
  [490, 1350, 1690],
];

const FORMANT_BANDWIDTH_HZ = [70, 110, 160] as const;

export interface SpeechOptions {
  /** RMS of the voiced parts, dBm0 (conversational speech on a line: about -20). */
  levelDbm0?: number;
  /** Mean pitch in Hz (a low voice ~110, a high voice ~200). */
  pitchHz?: number;
}

/** A two-pole resonator (Klatt 1980): y[n] = a·x[n] + b·y[n-1] + c·y[n-2]. */
class Resonator {
  private y1 = 0;
  private y2 = 0;
  private a = 0;
  private b = 0;
  private c = 0;

  set(freqHz: number, bandwidthHz: number): void {
    const t = 1 / SAMPLE_RATE;
    this.c = -Math.exp(-2 * Math.PI * bandwidthHz * t);
    this.b = 2 * Math.exp(-Math.PI * bandwidthHz * t) * Math.cos(2 * Math.PI * freqHz * t);
    this.a = 1 - this.b - this.c;
  }

  step(x: number): number {
    const y = this.a * x + this.b * this.y1 + this.c * this.y2;
    this.y2 = this.y1;
    this.y1 = y;
    return y;
  }
}

/** Writes one syllable (optional consonant burst + vowel) into `out` from `start`; returns samples written. */
function writeSyllable(out: Float64Array, start: number, rng: SeededRandom, pitchHz: number): number {
  const vowelSamples = Math.round((rng.between(120, 280) * SAMPLE_RATE) / 1000);
  const burstSamples = rng.next() < 0.5 ? Math.round((rng.between(25, 60) * SAMPLE_RATE) / 1000) : 0;
  const from = rng.pick(VOWEL_FORMANTS_HZ);
  const to = rng.pick(VOWEL_FORMANTS_HZ);
  const resonators = [new Resonator(), new Resonator(), new Resonator()];
  // Consonant: high-passed noise at a fraction of the vowel's level (a fricative-like onset).
  let prevNoise = 0;
  let n = start;
  for (let i = 0; i < burstSamples && n < out.length; i++, n++) {
    const noise = rng.between(-1, 1);
    const env = Math.sin((Math.PI * i) / burstSamples);
    out[n] = 0.25 * env * (noise - prevNoise);
    prevNoise = noise;
  }
  // Vowel: pitch glides ±15 % across the syllable, formants glide from one vowel toward another.
  const f0Start = pitchHz * rng.between(0.9, 1.15);
  const f0End = pitchHz * rng.between(0.85, 1.05);
  let phase = 0;
  let source = 0;
  for (let i = 0; i < vowelSamples && n < out.length; i++, n++) {
    const frac = i / vowelSamples;
    if (i % 40 === 0) {
      for (let k = 0; k < 3; k++) {
        const f = (from[k] as number) + ((to[k] as number) - (from[k] as number)) * frac;
        (resonators[k] as Resonator).set(f, FORMANT_BANDWIDTH_HZ[k] as number);
      }
    }
    const f0 = f0Start + (f0End - f0Start) * frac;
    phase += f0 / SAMPLE_RATE;
    // Glottal excitation: an impulse per pitch period, low-passed, plus a little aspiration noise.
    let pulse = 0;
    if (phase >= 1) {
      phase -= 1;
      pulse = 1;
    }
    source = 0.6 * source + pulse + 0.02 * rng.between(-1, 1);
    let y = source;
    for (const r of resonators) y = r.step(y);
    const env = Math.pow(Math.sin(Math.PI * frac), 2);
    out[n] = y * env;
  }
  return n - start;
}

/**
 * `durationMs` of speech-like audio, deterministic for a given `rng` state. Words of 1–3 syllables,
 * 100–250 ms between words, 300–600 ms between phrases of 2–4 words.
 */
export function synthesizeSpeech(durationMs: number, rng: SeededRandom, options: SpeechOptions = {}): Int16Array {
  const total = Math.round((durationMs * SAMPLE_RATE) / 1000);
  const raw = new Float64Array(total);
  const pitchHz = options.pitchHz ?? rng.between(105, 210);
  let n = Math.round((rng.between(20, 120) * SAMPLE_RATE) / 1000);
  while (n < total) {
    const words = rng.intBetween(2, 4);
    for (let w = 0; w < words && n < total; w++) {
      const syllables = rng.intBetween(1, 3);
      for (let s = 0; s < syllables && n < total; s++) n += writeSyllable(raw, n, rng, pitchHz);
      n += Math.round((rng.between(100, 250) * SAMPLE_RATE) / 1000);
    }
    n += Math.round((rng.between(300, 600) * SAMPLE_RATE) / 1000);
  }
  return normalise(raw, options.levelDbm0 ?? -20);
}

/** Scales to the target RMS over the samples louder than -50 dB of the peak (the active parts). */
function normalise(raw: Float64Array, levelDbm0: number): Int16Array {
  let peak = 0;
  for (const v of raw) peak = Math.max(peak, Math.abs(v));
  const out = new Int16Array(raw.length);
  if (peak === 0) return out;
  const floor = peak * 0.003;
  let sum = 0;
  let count = 0;
  for (const v of raw) {
    if (Math.abs(v) > floor) {
      sum += v * v;
      count++;
    }
  }
  const rms = Math.sqrt(sum / Math.max(1, count));
  const targetRms = (DBM0_PEAK / Math.SQRT2) * Math.pow(10, levelDbm0 / 20);
  const gain = targetRms / rms;
  for (let i = 0; i < raw.length; i++) {
    const v = Math.round((raw[i] as number) * gain);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}
