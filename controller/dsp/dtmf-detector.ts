/**
 * DTMF receiver by ITU-T Q.24 / ETSI ES 201 235-3 rules: windows analysed by `DtmfAnalyser` and
 * judged by `WindowClassifier.reportCode` (level, twist, frequency, selectivity, S/N) are turned into
 * digits by duration and pause rules counted in windows (102 samples, hop 51 = 6.375 ms):
 *
 *   - a digit is confirmed after CONFIRM_WINDOWS (4) consecutive valid windows of the same code. A
 *     window is valid only when ≥ ~86 % of it is tone, so a tone of < 20 ms yields at most 2 (reject)
 *     and one of ≥ 40 ms at least 4 (accept); the measured boundary lies at 32–35 ms.
 *   - a digit ends after END_WINDOWS (4) consecutive windows without its code: a pause ≥ 40 ms gives
 *     ≥ 6 such windows (two digits), a drop-out of ≤ 10 ms at most 3 (bridged).
 *
 * State machine (one transition table below):
 *
 *        valid c            same c (n < 4)            same c (n = 4): onStart
 *   idle ───────► candidate ──────────► candidate ──────────────────────► active
 *     ▲              │ other/invalid                                        │ 4 × not c: onDigit
 *     └──────────────┴────────────────────────────────────────────────────┘
 *
 * Sample positions are absolute indices of the stream. Start and end are refined from the amplitude
 * of the first and last partial windows (a window that is a fraction f tone shows amplitude f·A).
 */
import { DtmfAnalyser, WINDOW_SAMPLES, type DtmfWindow } from './dtmf-analyser';
import { WindowClassifier } from './dtmf-thresholds';
import { TonewallError } from '../../hw/base/errors';

export const CONFIRM_WINDOWS = 4;
export const END_WINDOWS = 4;

/** A reported digit: `code` is row × 4 + column (0–15, index into DTMF_DIGITS), never a character. */
export interface DtmfDigitEvent {
  code: number;
  startSample: number;
  endSample: number;
}

type State = 'idle' | 'candidate' | 'active';
type Input = 'same' | 'other' | 'none';

/** Next state per (state, input); `confirm` and `end` mark where events fire. */
const TRANSITIONS: Record<State, Record<Input, State>> = {
  idle: { same: 'candidate', other: 'candidate', none: 'idle' },
  candidate: { same: 'candidate', other: 'candidate', none: 'idle' },
  active: { same: 'active', other: 'active', none: 'active' },
};

/** Turns classified windows into digit events. Pure state; shared by `DtmfDetector` and the uplink. */
export class DtmfReporter {
  state: State = 'idle';
  private code = -1;
  private count = 0;
  private misses = 0;
  private firstEnd = 0;
  private firstRowAmp = 0;
  private firstColAmp = 0;
  private peakRowAmp = 0;
  private peakColAmp = 0;
  private startSample = 0;

  constructor(
    private readonly onDigit: (event: DtmfDigitEvent) => void,
    private readonly onStart?: (code: number, startSample: number) => void,
  ) {}

  /** Feeds one window and its report code (-1 when not a valid digit). */
  onWindow(w: DtmfWindow, reportCode: number): void {
    const input: Input = reportCode < 0 ? 'none' : reportCode === this.code ? 'same' : 'other';
    const from = this.state;
    const to = TRANSITIONS[from][input];
    if (from === 'active') {
      this.stepActive(w, input, reportCode);
      return;
    }
    this.state = to;
    if (to === 'idle') {
      this.code = -1;
      return;
    }
    if (from === 'idle' || input === 'other') {
      this.beginCandidate(w, reportCode);
      return;
    }
    this.count++;
    this.trackPeak(w);
    if (this.count >= CONFIRM_WINDOWS) {
      this.state = 'active';
      this.misses = 0;
      const f = this.fraction(this.firstRowAmp, this.firstColAmp);
      this.startSample = Math.max(0, this.firstEnd - Math.round(f * WINDOW_SAMPLES));
      this.onStart?.(this.code, this.startSample);
    }
  }

  /** Ends an active digit at `endSample` (end of stream). */
  flush(endSample: number): void {
    if (this.state === 'active') this.emit(Math.max(this.startSample, endSample));
    this.state = 'idle';
    this.code = -1;
  }

  /** Forgets any digit in progress without reporting it (after a fault). */
  discard(): void {
    this.state = 'idle';
    this.code = -1;
  }

  private stepActive(w: DtmfWindow, input: Input, reportCode: number): void {
    if (input === 'same') {
      this.misses = 0;
      this.trackPeak(w);
      return;
    }
    this.misses++;
    if (this.misses === 1) {
      // The first window without the digit: the tone ends inside it, after a fraction f of it.
      const f = this.fraction(w.amp[this.code >> 2] as number, w.amp[4 + (this.code & 3)] as number);
      this.firstEnd = w.endSample - WINDOW_SAMPLES + Math.round(f * WINDOW_SAMPLES);
    }
    if (this.misses < END_WINDOWS) return;
    this.emit(Math.max(this.startSample, this.firstEnd));
    if (input === 'other') {
      this.state = 'candidate';
      this.beginCandidate(w, reportCode);
    } else {
      this.state = 'idle';
      this.code = -1;
    }
  }

  private beginCandidate(w: DtmfWindow, code: number): void {
    this.code = code;
    this.count = 1;
    this.firstEnd = w.endSample;
    this.firstRowAmp = w.rowAmp;
    this.firstColAmp = w.colAmp;
    this.peakRowAmp = w.rowAmp;
    this.peakColAmp = w.colAmp;
  }

  private trackPeak(w: DtmfWindow): void {
    if (w.rowAmp > this.peakRowAmp) this.peakRowAmp = w.rowAmp;
    if (w.colAmp > this.peakColAmp) this.peakColAmp = w.colAmp;
  }

  private fraction(rowAmp: number, colAmp: number): number {
    const f = (rowAmp / this.peakRowAmp + colAmp / this.peakColAmp) / 2;
    return f > 1 ? 1 : f < 0 ? 0 : f;
  }

  private emit(endSample: number): void {
    this.onDigit({ code: this.code, startSample: this.startSample, endSample });
  }
}

export interface DtmfDetectorOptions {
  onDigit: (event: DtmfDigitEvent) => void;
  onStart?: (code: number, startSample: number) => void;
  classifier?: WindowClassifier;
}

/** A streaming DTMF detector: analyser + report thresholds + reporter. Any block size. */
export class DtmfDetector {
  private readonly analyser = new DtmfAnalyser();
  private readonly classifier: WindowClassifier;
  private readonly reporter: DtmfReporter;

  constructor(options: DtmfDetectorOptions) {
    this.classifier = options.classifier ?? new WindowClassifier();
    this.reporter = new DtmfReporter(options.onDigit, options.onStart);
  }

  /** Absolute index of the next sample expected. */
  get position(): number {
    return this.analyser.position;
  }

  process(input: Int16Array): void {
    const a = this.analyser;
    let i = 0;
    while (i < input.length) {
      i = a.consume(input, i, input.length);
      if (a.ready) this.reporter.onWindow(a.window, this.classifier.reportCode(a.window));
    }
  }

  /** Ends the stream: an active digit is reported with the stream's end as its end. */
  finish(): void {
    this.reporter.flush(this.analyser.position);
  }
}

/** All digits in a recording (offline use: the `detect` command and tests). */
export function detectDigits(samples: Int16Array, blockSamples = 160): DtmfDigitEvent[] {
  if (!Number.isInteger(blockSamples) || blockSamples < 1) {
    throw new TonewallError('EDSP_BLOCK', `block size ${blockSamples} is not a positive integer`);
  }
  const events: DtmfDigitEvent[] = [];
  const det = new DtmfDetector({ onDigit: (e) => events.push(e) });
  for (let i = 0; i < samples.length; i += blockSamples) det.process(samples.subarray(i, Math.min(samples.length, i + blockSamples)));
  det.finish();
  return events;
}
