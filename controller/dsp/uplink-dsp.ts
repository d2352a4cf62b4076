/**
 * The per-channel uplink DSP (DESIGN.md §5): DTMF detector (always on) → delay line → masker, behind
 * the `UplinkProcessor` seam. The offline `tonewall mask` command runs this same class.
 *
 * Modes (one transition table, `TRANSITIONS`):
 *
 *   transparent ──enterSecure──► secure ──exitSecure──► draining ──quiet moment──► transparent
 *   (no delay)      (engage:       (delay, mask,          (still secure until the
 *                   noise fill)     notch bank)            buffered audio is quiet)
 *   stripping ──enterSecure──► secure ──exitSecure──► stripping   (policy 'strip-always': the delay
 *                                                                  line stays on, and says so)
 *   secure | draining ──fault──► faulted (comfort noise only) ──exitSecure──► transparent | stripping
 *
 * Contract:
 * - `enterSecure()` after a fault needs `exitSecure()` first (the faulted session must end).
 * - `process` never throws. In secure mode (secure, draining) an exception, a bad block or
 *   `signalOverrun()` fails closed: the uplink carries comfort noise until `exitSecure()`.
 *   Outside secure mode a fault resets the DSP and the audio goes on (no card data is at stake).
 * - Digits go only to `onDigit`, as `{ code, startSample, endSample, secure }` with `code` 0–15
 *   (index into DTMF_DIGITS), never a string. Nothing about a masked digit is logged or emitted.
 * - The lookahead (≤ 20 ms) is the only latency added, and only while the delay line is on.
 * - Any block size; no allocation per block.
 * - Blanking (policy `payments.blankDuringSecurityCode`): `setBlanking(true)` replaces every output
 *   sample whose input was at or after the switch with comfort noise, until `setBlanking(false)`
 *   (whose input arrived before the switch back, the delay line included). Detection, masking and
 *   digit delivery go on underneath: only what leaves changes. The bounds are taken at block
 *   granularity, outward (a switch from inside `process`, i.e. from a digit callback, blanks from the
 *   start of that block and to its end), so a boundary never lets a blanked sample out.
 */
import type { UplinkProcessor } from '../media/uplink-processor';
import { DtmfAnalyser, HOP_SAMPLES, WINDOW_SAMPLES, type DtmfWindow } from './dtmf-analyser';
import { WindowClassifier } from './dtmf-thresholds';
import { DtmfDetector, DtmfReporter, type DtmfDigitEvent } from './dtmf-detector';
import { DelayMasker } from './delay-masker';
import { type MaskStyle, MASK_STYLES } from './replacement';
import { dbm0ToPeak, SAMPLE_RATE } from './tone-generator';
import { TonewallError } from '../../hw/base/errors';

export type UplinkPolicy = 'transparent' | 'strip-always';
export type UplinkMode = 'transparent' | 'stripping' | 'secure' | 'draining' | 'faulted';
type ModeEvent = 'enterSecure' | 'exitSecure' | 'quiet' | 'fault';

export interface UplinkDigitEvent extends DtmfDigitEvent {
  /** True when the digit was pressed in secure mode (it was masked and must go to the capture only). */
  secure: boolean;
}

export interface UplinkDspOptions {
  style?: MaskStyle;
  /** Masking lookahead, ms, 0–20 (default 20). Below ~16 ms a tone's first milliseconds may leave (notched). */
  lookaheadMs?: number;
  sampleRate?: number;
  policy?: UplinkPolicy;
  onDigit?: (event: UplinkDigitEvent) => void;
  onFault?: (err: unknown) => void;
  /** Run an independent detector on what leaves in secure mode (the masking record's second check). */
  verifyOutput?: boolean;
}

/** What one secure session did (DESIGN.md §5 masking record): counts only, never a digit. */
export interface MaskingRecord {
  /** Masked regions that left as replacement. */
  maskedTones: number;
  /** Samples that left as replacement, and all samples that left, in this session. */
  maskedSamples: number;
  samples: number;
  /** Digits the independent check found in what left (0 means the audio that left is clean). */
  outputDigits: number;
  /** The session failed closed (the uplink carried comfort noise from the fault on). */
  faulted: boolean;
}

export const MAX_LOOKAHEAD_MS = 20;
export const DEFAULT_LOOKAHEAD_MS = 20;
/** Buffered audio below this mean level counts as a quiet moment to give the delay back. */
export const QUIET_LEVEL_DBM0 = -45;
/** Longest wait for a quiet moment after exitSecure before the delay is dropped anyway (2 s). */
export const DRAIN_MAX_SAMPLES = 2 * SAMPLE_RATE;

const TRANSITIONS: Record<UplinkMode, Partial<Record<ModeEvent, UplinkMode>>> = {
  transparent: { enterSecure: 'secure' },
  stripping: { enterSecure: 'secure' },
  secure: { exitSecure: 'draining', fault: 'faulted' },
  draining: { enterSecure: 'secure', quiet: 'transparent', fault: 'faulted' },
  faulted: { exitSecure: 'transparent' },
};

/** A window this clean (two tones, nothing else) is masked on its own: catches 15–20 ms tones. */
const SINGLE_WINDOW_FRACTION = 0.92;

const QUIET_MEAN_SQUARE = dbm0ToPeak(QUIET_LEVEL_DBM0) ** 2 / 2;

export class UplinkDsp implements UplinkProcessor {
  readonly style: MaskStyle;
  readonly policy: UplinkPolicy;
  readonly lookaheadSamples: number;
  /** Input samples processed so far (absolute index of the next one). */
  position = 0;
  /** Faults seen (each one that happened in secure mode muted the uplink). */
  faults = 0;

  private modeValue: UplinkMode;
  private readonly analyser = new DtmfAnalyser();
  private readonly classifier = new WindowClassifier();
  private readonly reporter: DtmfReporter;
  private readonly masker: DelayMasker;
  private readonly verifier: DtmfDetector | undefined;
  private readonly onFault: ((err: unknown) => void) | undefined;
  private drainedSamples = 0;
  private sessionFaulted = false;
  private outputDigitCount = 0;
  private lastOnsetCode = -1;
  private readonly base = { maskedTones: 0, maskedSamples: 0, samples: 0, outputDigits: 0 };
  /** Blanked input range [blankFrom, blankUntil) in absolute input samples; Infinity while on. */
  private blankFrom = 0;
  private blankUntil = 0;
  /** Input samples of the block `process` is working on (0 outside process). */
  private blockSamples = 0;

  constructor(options: UplinkDspOptions = {}) {
    const rate = options.sampleRate ?? SAMPLE_RATE;
    if (rate !== SAMPLE_RATE) throw new TonewallError('EDSP_RATE', `sample rate ${rate} Hz is not supported; expected ${SAMPLE_RATE}`);
    const lookaheadMs = options.lookaheadMs ?? DEFAULT_LOOKAHEAD_MS;
    if (!Number.isFinite(lookaheadMs) || lookaheadMs < 0 || lookaheadMs > MAX_LOOKAHEAD_MS) {
      throw new TonewallError('EDSP_LOOKAHEAD', `lookahead ${lookaheadMs} ms is outside 0–${MAX_LOOKAHEAD_MS} ms`);
    }
    const style = options.style ?? 'flat';
    if (!MASK_STYLES.includes(style)) throw new TonewallError('EDSP_STYLE', `mask style "${String(style)}" is not one of ${MASK_STYLES.join(', ')}`);
    this.style = style;
    const policy = options.policy ?? 'transparent';
    if (policy !== 'transparent' && policy !== 'strip-always') {
      throw new TonewallError('EDSP_POLICY', `uplink policy "${String(policy)}" is not one of transparent, strip-always`);
    }
    this.policy = policy;
    this.lookaheadSamples = Math.round((lookaheadMs * SAMPLE_RATE) / 1000);
    this.masker = new DelayMasker(style, this.lookaheadSamples);
    this.onFault = options.onFault;
    const onDigit = options.onDigit;
    this.reporter = new DtmfReporter((e) => {
      if (onDigit) onDigit({ code: e.code, startSample: e.startSample, endSample: e.endSample, secure: this.isSecure });
    });
    this.verifier = options.verifyOutput === false ? undefined : new DtmfDetector({ onDigit: () => void this.outputDigitCount++ });
    this.modeValue = this.policy === 'strip-always' ? 'stripping' : 'transparent';
    if (this.modeValue === 'stripping') this.masker.engage(0);
  }

  get mode(): UplinkMode {
    return this.modeValue;
  }
  get faulted(): boolean {
    return this.modeValue === 'faulted';
  }
  /** Masked regions that have left the box as replacement (secure and stripping modes). */
  get maskedTones(): number {
    return this.masker.maskedTones;
  }
  /** Samples that left as replacement. */
  get maskedSamples(): number {
    return this.masker.maskedSamples;
  }
  /** Digits the independent output check found in what left during secure mode (should stay 0). */
  get outputDigits(): number {
    return this.outputDigitCount;
  }
  get latencySamples(): number {
    return this.delayOn ? this.masker.buffered : 0;
  }

  /** The current (or last) secure session's record, counted from its enterSecure(). */
  get maskingRecord(): MaskingRecord {
    return {
      maskedTones: this.masker.maskedTones - this.base.maskedTones,
      maskedSamples: this.masker.maskedSamples - this.base.maskedSamples,
      samples: this.position - this.base.samples,
      outputDigits: this.outputDigitCount - this.base.outputDigits,
      faulted: this.sessionFaulted,
    };
  }

  enterSecure(): void {
    const from = this.modeValue;
    const to = this.transition('enterSecure');
    if (from !== 'draining') {
      this.base.maskedTones = this.masker.maskedTones;
      this.base.maskedSamples = this.masker.maskedSamples;
      this.base.samples = this.position;
      this.base.outputDigits = this.outputDigitCount;
      this.sessionFaulted = false;
    }
    if (from === 'transparent') this.masker.engage(this.position);
    this.masker.notch = true;
    this.modeValue = to;
  }

  exitSecure(): void {
    const from = this.modeValue;
    let to = this.transition('exitSecure');
    if (from === 'faulted') {
      this.resetDsp();
      to = this.policy === 'strip-always' ? 'stripping' : 'transparent';
      if (to === 'stripping') this.masker.engage(this.position);
    } else if (this.policy === 'strip-always') {
      to = 'stripping';
      this.masker.notch = false;
    }
    this.drainedSamples = 0;
    if (to !== 'draining') this.verifier?.finish();
    this.modeValue = to;
  }

  /** True while the uplink is blanked (`setBlanking(true)` not yet undone). */
  get blanking(): boolean {
    return this.blankUntil === Infinity;
  }

  /**
   * Blank the whole uplink with comfort noise (true) or stop (false); idempotent. Digits are still
   * detected, masked and delivered while blanked.
   */
  setBlanking(on: boolean): void {
    if (on === this.blanking) return;
    if (on) {
      this.blankFrom = this.position;
      this.blankUntil = Infinity;
    } else {
      this.blankUntil = this.position + this.blockSamples;
    }
  }

  /** The pipeline fell behind: in secure mode this fails closed like an exception. */
  signalOverrun(): void {
    this.fault(new TonewallError('EDSP_OVERRUN', `uplink DSP overrun at sample ${this.position}`));
  }

  process(input: Int16Array, output: Int16Array): void {
    try {
      if (output.length !== input.length) {
        throw new TonewallError('EDSP_BLOCK', `output block of ${output.length} samples does not match input of ${input.length}`);
      }
      const mode = this.modeValue;
      this.blockSamples = input.length;
      if (mode === 'faulted') {
        for (let i = 0; i < output.length; i++) output[i] = this.masker.comfort();
        this.position += input.length;
      } else if (mode === 'transparent') {
        output.set(input);
        this.analyse(input);
        this.blank(output, this.position - input.length);
      } else {
        this.processDelayed(input, output);
      }
      this.blockSamples = 0;
    } catch (err) {
      this.blockSamples = 0;
      this.fault(err);
      const n = Math.min(input.length, output.length);
      if (this.modeValue === 'faulted') for (let i = 0; i < output.length; i++) output[i] = this.masker.comfort();
      else if (this.modeValue === 'transparent') output.set(input.subarray(0, n));
      else output.fill(0);
    }
  }

  private get isSecure(): boolean {
    return this.modeValue === 'secure' || this.modeValue === 'draining';
  }

  private get delayOn(): boolean {
    return this.modeValue !== 'transparent' && this.modeValue !== 'faulted';
  }

  private analyse(input: Int16Array): void {
    const a = this.analyser;
    let i = 0;
    while (i < input.length) {
      i = a.consume(input, i, input.length);
      if (a.ready) this.reporter.onWindow(a.window, this.classifier.reportCode(a.window));
    }
    this.position += input.length;
  }

  /** The hot path of secure and stripping modes: analyse a hop, write it, mask, read it out. */
  private processDelayed(input: Int16Array, output: Int16Array): void {
    const a = this.analyser;
    const m = this.masker;
    const len = input.length;
    let i = 0;
    while (i < len) {
      const end = a.consume(input, i, len);
      m.writeBlock(input, i, end);
      if (a.ready) {
        const w = a.window;
        this.reporter.onWindow(w, this.classifier.reportCode(w));
        this.maskDecision(w);
      }
      m.takeBlock(i, end);
      i = end;
    }
    m.finishBlock(output, len);
    this.position += len;
    // The block that just left came from input samples [readPos - len, readPos).
    this.blank(output, m.readPos - len);
    if (this.isSecure && this.verifier) this.verifier.process(output);
    if (this.modeValue === 'draining') this.tryDrain(len);
  }

  /** A DTMF-like window whose predecessor held the same pair (its onset): mask both and the guards. */
  private maskDecision(w: DtmfWindow): void {
    const c = this.classifier;
    const fraction = c.dtmfLikeFraction(w);
    const code = fraction >= c.maskOnsetFraction ? w.row * 4 + w.col : -1;
    if ((fraction >= c.maskStrongFraction && code === this.lastOnsetCode) || fraction >= SINGLE_WINDOW_FRACTION) {
      this.masker.maskWindow(w.endSample - WINDOW_SAMPLES - HOP_SAMPLES, w.endSample);
    }
    this.lastOnsetCode = code;
  }

  /** Comfort noise over the output samples whose input index (first: `inputStart`) lies in the blanked range. */
  private blank(output: Int16Array, inputStart: number): void {
    if (this.blankUntil <= inputStart || this.blankUntil <= this.blankFrom) return;
    const from = Math.max(0, this.blankFrom - inputStart);
    const to = Math.min(output.length, this.blankUntil - inputStart);
    for (let i = from; i < to; i++) output[i] = this.masker.comfort();
  }

  private tryDrain(len: number): void {
    this.drainedSamples += len;
    if (!this.masker.isQuiet(QUIET_MEAN_SQUARE) && this.drainedSamples < DRAIN_MAX_SAMPLES) return;
    this.modeValue = this.transition('quiet');
    this.verifier?.finish();
    this.masker.release();
    this.masker.notch = false;
  }

  private transition(event: ModeEvent): UplinkMode {
    const to = TRANSITIONS[this.modeValue][event];
    if (to === undefined) throw new TonewallError('EDSP_MODE', `uplink DSP cannot ${event} in mode ${this.modeValue}`);
    return to;
  }

  private fault(err: unknown): void {
    this.faults++;
    if (this.isSecure) {
      this.modeValue = 'faulted';
      this.sessionFaulted = true;
    } else if (this.modeValue !== 'faulted') {
      this.resetDsp();
      if (this.modeValue === 'stripping') this.masker.engage(this.position);
    }
    try {
      this.onFault?.(err);
    } catch {
      // The fault callback must not take the audio path down; the fault is already counted.
    }
  }

  private resetDsp(): void {
    this.analyser.reset(this.position);
    this.reporter.discard();
  }
}
