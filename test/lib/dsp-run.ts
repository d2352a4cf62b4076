/** Runs signals through the uplink DSP block by block (as the media pipeline does). */
import { UplinkDsp, type UplinkDigitEvent, type UplinkDspOptions } from '../../controller/dsp/uplink-dsp';

export interface UplinkRun {
  dsp: UplinkDsp;
  output: Int16Array;
  digits: UplinkDigitEvent[];
}

/** Processes `input` in blocks of `blockSamples`; `secure` enters secure mode before the first block. */
export function runUplink(input: Int16Array, options: UplinkDspOptions & { secure?: boolean; blockSamples?: number } = {}): UplinkRun {
  const digits: UplinkDigitEvent[] = [];
  const dsp = new UplinkDsp({ ...options, onDigit: (e) => digits.push(e) });
  if (options.secure ?? true) dsp.enterSecure();
  const output = new Int16Array(input.length);
  const block = options.blockSamples ?? 160;
  for (let i = 0; i < input.length; i += block) {
    const end = Math.min(input.length, i + block);
    dsp.process(input.subarray(i, end), output.subarray(i, end));
  }
  return { dsp, output, digits };
}
