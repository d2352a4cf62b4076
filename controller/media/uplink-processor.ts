/**
 * The seam between the media pipeline (controller/media) and the DSP (controller/dsp) on the
 * uplink (PSTN → SIP), DESIGN.md §5:
 *
 *   card PCM → linear → [UplinkProcessor: DTMF detector → delay line → masker] → encode → RTP
 *
 * The pipeline calls `process` once per block of linear 8 kHz samples, in order, and sends
 * exactly the samples written to `output` (same length as `input`). The processor's latency is
 * its delay line: in normal mode with a transparent uplink it is 0.
 */
export interface UplinkProcessor {
  /** Fills `output` (same length as `input`) with what may leave the box. Must not throw: a DSP failure fails closed inside. */
  process(input: Int16Array, output: Int16Array): void;
  /** Samples of delay the processor currently adds (0 when transparent). */
  readonly latencySamples: number;
}

/** Normal mode with no DTMF policy: the uplink is passed through untouched, with no delay. */
export class TransparentUplink implements UplinkProcessor {
  readonly latencySamples = 0;
  process(input: Int16Array, output: Int16Array): void {
    output.set(input);
  }
}
