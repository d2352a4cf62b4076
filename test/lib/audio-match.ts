/**
 * Audio comparisons for end-to-end tests, robust to what a real media path may do (a jitter buffer
 * that time-scales by a sample or two, G.711's two zero codes, an A-law ↔ µ-law transcode): a
 * window is "found" by its best normalised correlation, and the window tested is the loudest one,
 * so silence (which matches any silence) can never pass for audio.
 */
import type { CompandingLaw } from '../../hw/card/types';
import { decode } from '../../controller/media/g711';

/** Best normalised correlation of `needle` against any position of `hay` (both in `law`): 1 for an exact copy. */
export function bestMatch(law: CompandingLaw, hay: Buffer, needle: Buffer): number {
  const h = decode(law, hay);
  const n = decode(law, needle);
  let nn = 0;
  for (const x of n) nn += x * x;
  let best = 0;
  for (let at = 0; at + n.length <= h.length; at++) {
    let hn = 0;
    let hh = 0;
    for (let i = 0; i < n.length; i++) {
      const y = h[at + i] as number;
      hn += y * (n[i] as number);
      hh += y * y;
    }
    if (hh > 0 && nn > 0) best = Math.max(best, hn / Math.sqrt(hh * nn));
  }
  return best;
}

/** The loudest `samples`-long window of `audio` (hop samples/2) and its mean power (linear units²). */
export function loudestWindow(law: CompandingLaw, audio: Buffer, samples = 800): { window: Buffer; meanPower: number } {
  const lin = decode(law, audio);
  let loudest = 0;
  let energy = -1;
  for (let at = 0; at + samples <= lin.length; at += samples / 2) {
    let e = 0;
    for (let i = at; i < at + samples; i++) e += (lin[i] as number) ** 2;
    if (e > energy) [loudest, energy] = [at, e];
  }
  return { window: audio.subarray(loudest, loudest + samples), meanPower: Math.max(0, energy) / samples };
}
