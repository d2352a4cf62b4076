/**
 * The offline form of the live uplink, for `tonewall mask`: a whole recording treated as one secure
 * session through the very same `UplinkDsp` the media pipeline runs, block by block (20 ms, as at
 * ptime 20). The output is what would leave the box: delayed by the real lookahead (its first
 * lookahead is comfort noise), never looking further ahead than that, same number of samples.
 */
import { UplinkDsp } from './uplink-dsp';
import type { MaskStyle } from './replacement';

export const OFFLINE_BLOCK_SAMPLES = 160;

export interface MaskResult {
  output: Int16Array;
  latencySamples: number;
  maskedTones: number;
  maskedSamples: number;
  /** Digits the independent check found in the output (the masking record; should be 0). */
  outputDigits: number;
  faulted: boolean;
}

export function maskRecording(samples: Int16Array, options: { style?: MaskStyle; lookaheadMs?: number } = {}): MaskResult {
  let faulted = false;
  const dsp = new UplinkDsp({ ...options, policy: 'transparent', onFault: () => void (faulted = true) });
  dsp.enterSecure();
  const output = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i += OFFLINE_BLOCK_SAMPLES) {
    const end = Math.min(samples.length, i + OFFLINE_BLOCK_SAMPLES);
    dsp.process(samples.subarray(i, end), output.subarray(i, end));
  }
  return {
    output,
    latencySamples: dsp.latencySamples,
    maskedTones: dsp.maskedTones,
    maskedSamples: dsp.maskedSamples,
    outputDigits: dsp.outputDigits,
    faulted: faulted || dsp.faulted,
  };
}
