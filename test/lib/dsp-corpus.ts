/**
 * The conformance corpus: one case per (clause, parameter, digit), each with the verdict the standard
 * demands ('accept', 'reject') or 'either' where Q.24 / ES 201 235-3 leave it open. Shared by the
 * unit conformance tests and the SpanDSP interop test (which compares verdicts on unambiguous cases).
 */
import type { CompandingLaw } from '../../controller/media/g711';
import { DTMF_DIGITS, type DtmfDigit } from '../../controller/dsp/tone-generator';
import { addNoise, dtmfSequence, g711RoundTrip, type ToneSpec } from './dsp-signals';

export type Verdict = 'accept' | 'reject' | 'either';

export interface CorpusCase {
  clause: string;
  name: string;
  digit: DtmfDigit;
  verdict: Verdict;
  /** Tones, each followed by `pauseMs`; `expectCount` digits are expected when accepted. */
  samples: Int16Array;
  expectCount: number;
}

const DIGITS = DTMF_DIGITS.split('') as DtmfDigit[];

function one(clause: string, name: string, digit: DtmfDigit, verdict: Verdict, spec: Partial<ToneSpec>, law?: CompandingLaw, snrDb?: number): CorpusCase {
  let { samples } = dtmfSequence([{ digit, durationMs: 60, ...spec }], 80);
  if (snrDb !== undefined) {
    // Tone power of the pair relative to 0 dBm0, then noise below it.
    const row = spec.rowLevelDbm0 ?? -8;
    const col = row + (spec.twistDb ?? 0);
    const pairDbm0 = 10 * Math.log10(10 ** (row / 10) + 10 ** (col / 10));
    samples = addNoise(samples, pairDbm0 - snrDb, 7 + DIGITS.indexOf(digit));
  }
  if (law) samples = g711RoundTrip(samples, law);
  return { clause, name, digit, verdict, samples, expectCount: 1 };
}

/** The whole corpus (all 16 digits for every parameter value), through linear, µ-law and A-law. */
export function conformanceCorpus(): CorpusCase[] {
  const cases: CorpusCase[] = [];
  const laws: (CompandingLaw | undefined)[] = [undefined, 'ulaw', 'alaw'];
  for (const law of laws) {
    const tag = law ?? 'linear';
    for (const d of DIGITS) {
      for (const dev of [-1.5, 0, 1.5]) cases.push(one('frequency tolerance', `${tag} deviation ${dev}%`, d, 'accept', { deviationPct: dev }, law));
      for (const dev of [-3.5, 3.5, -5]) cases.push(one('frequency tolerance', `${tag} deviation ${dev}%`, d, 'reject', { deviationPct: dev }, law));
      cases.push(one('frequency tolerance', `${tag} row only +3.5%`, d, 'reject', { rowDeviationPct: 3.5 }, law));
      cases.push(one('frequency tolerance', `${tag} column only -3.5%`, d, 'reject', { colDeviationPct: -3.5 }, law));
      for (const dur of [40, 50]) cases.push(one('duration', `${tag} ${dur} ms`, d, 'accept', { durationMs: dur }, law));
      for (const dur of [10, 15, 19]) cases.push(one('duration', `${tag} ${dur} ms`, d, 'reject', { durationMs: dur }, law));
      for (const tw of [-8, -4, 0, 4]) cases.push(one('twist', `${tag} high-low ${tw} dB`, d, 'accept', { twistDb: tw, rowLevelDbm0: tw > 0 ? -12 : -4 }, law));
      for (const tw of [-14, 10]) cases.push(one('twist', `${tag} high-low ${tw} dB`, d, 'reject', { twistDb: tw, rowLevelDbm0: tw > 0 ? -14 : -2 }, law));
      for (const lv of [-3, -20, -30]) cases.push(one('level', `${tag} ${lv} dBm0 per tone`, d, 'accept', { rowLevelDbm0: lv }, law));
      for (const lv of [-50, -55]) cases.push(one('level', `${tag} ${lv} dBm0 per tone`, d, 'reject', { rowLevelDbm0: lv }, law));
      for (const snr of [12, 20]) cases.push(one('signal to noise', `${tag} S/N ${snr} dB`, d, 'accept', {}, law, snr));
    }
  }
  return cases;
}

/** Two equal digits separated by `pauseMs`: two digits expected when the pause is accepted. */
export function pauseCase(digit: DtmfDigit, pauseMs: number, law?: CompandingLaw): Int16Array {
  const { samples } = dtmfSequence([{ digit, durationMs: 50 }, { digit, durationMs: 50 }], pauseMs, 80);
  return law ? g711RoundTrip(samples, law) : samples;
}
