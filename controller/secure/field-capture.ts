/**
 * One payment field's capture: a small state machine over key inputs (DESIGN.md §2 step 3).
 *
 *            digit (incomplete)                   digit (next attempt: wipe, then take it)
 *            ┌──────┐                              ┌──────────────┐
 *   empty ──digit──► entering ──judge: complete──► complete       │
 *     ▲  ◄──clear──┘    │  └──judge: rejected───► rejected ──────┘
 *     └──────clear──────┴──────────clear─────────────┘
 *   end key judges the entry as it stands (`final`).  clear: the clear key or the agent's clear_field.
 *
 * Contract: digits live only in the field's `CapturedDigits`; `feedback()` returns counts, validity,
 * reason, brand and — once the card number is complete and valid — last four (and BIN when the
 * policy allows), never more (PCI DSS 3.4.1). `destroy()` wipes.
 */
import { TonewallError } from '../../hw/base/errors';
import { CapturedDigits } from './captured-digits';
import type { CardBrand } from './card-brands';
import { FIELD_CAPACITY, judgeField, type FieldContext, type FieldReason, type PaymentField, type Verdict } from './field-rules';

export type FieldState = 'empty' | 'entering' | 'complete' | 'rejected';
export type FieldInput = 'digit' | 'clear' | 'end';

/** Allowed inputs per state; anything else is an illegal transition. Targets depend on the verdict. */
const TRANSITIONS: Record<FieldState, Partial<Record<FieldInput, readonly FieldState[]>>> = {
  empty: { digit: ['entering', 'complete', 'rejected'], clear: ['empty'], end: ['rejected'] },
  entering: { digit: ['entering', 'complete', 'rejected'], clear: ['empty'], end: ['complete', 'rejected'] },
  complete: { clear: ['empty'] },
  rejected: { digit: ['entering', 'complete', 'rejected'], clear: ['empty'], end: ['rejected'] },
};

/** What the agent sees about one field: never digits, except last four / BIN as PCI DSS 3.4.1 allows. */
export interface FieldFeedback {
  field: PaymentField;
  count: number;
  complete: boolean;
  valid: boolean;
  reason?: FieldReason;
  brand?: CardBrand;
  last4?: string;
  bin?: string;
}

export interface FieldCaptureOptions {
  field: PaymentField;
  context: () => FieldContext;
  /** BIN digits shown once the card number is complete: 0 (never), 6 or 8 (policy). */
  binDigits: 0 | 6 | 8;
}

export class FieldCapture {
  readonly field: PaymentField;
  readonly digits: CapturedDigits;
  /** Entries begun (the first one and each restart after a clear or a rejection). */
  attempts = 0;
  /** Entries rejected (the session's `maxAttemptsPerField` limit counts these). */
  rejections = 0;
  private stateValue: FieldState = 'empty';
  private verdict: Verdict = { status: 'incomplete' };
  private last4: string | undefined;
  private bin: string | undefined;

  constructor(private readonly options: FieldCaptureOptions) {
    this.field = options.field;
    this.digits = new CapturedDigits(FIELD_CAPACITY[options.field]);
  }

  get state(): FieldState {
    return this.stateValue;
  }

  get brand(): CardBrand | undefined {
    return this.verdict.brand;
  }

  /** A digit value 0–9. Returns the new state. */
  digit(value: number): FieldState {
    this.check('digit');
    if (this.stateValue === 'rejected' || this.stateValue === 'empty') this.restart();
    this.digits.append(value);
    return this.apply(judgeField(this.field, this.digits, false, this.options.context()));
  }

  /** The end key: judge the entry as it stands. */
  end(): FieldState {
    this.check('end');
    if (this.stateValue === 'rejected') return this.stateValue;
    return this.apply(judgeField(this.field, this.digits, true, this.options.context()));
  }

  /** The clear key or the agent's clear_field: wipe and start the field again. */
  clear(): FieldState {
    this.check('clear');
    this.digits.wipe();
    this.last4 = undefined;
    this.bin = undefined;
    this.verdict = { status: 'incomplete' };
    this.stateValue = 'empty';
    return this.stateValue;
  }

  /** Whether `input` is accepted in the current state (the session ignores and counts the rest). */
  accepts(input: FieldInput): boolean {
    return TRANSITIONS[this.stateValue][input] !== undefined;
  }

  feedback(): FieldFeedback {
    const v = this.verdict;
    const fb: FieldFeedback = {
      field: this.field,
      count: this.digits.length,
      complete: this.stateValue === 'complete' || this.stateValue === 'rejected',
      valid: this.stateValue === 'complete',
    };
    if (v.status !== 'complete' && v.reason !== undefined) fb.reason = v.reason;
    if (v.brand !== undefined) fb.brand = v.brand;
    if (this.last4 !== undefined) fb.last4 = this.last4;
    if (this.bin !== undefined) fb.bin = this.bin;
    return fb;
  }

  destroy(): void {
    this.digits.destroy();
    this.last4 = undefined;
    this.bin = undefined;
  }

  private restart(): void {
    this.attempts++;
    this.digits.wipe();
    this.verdict = { status: 'incomplete' };
  }

  private apply(verdict: Verdict): FieldState {
    this.verdict = verdict;
    const next: FieldState = verdict.status === 'complete' ? 'complete' : verdict.status === 'rejected' ? 'rejected' : 'entering';
    if (next === 'rejected' && this.stateValue !== 'rejected') this.rejections++;
    if (next === 'complete' && this.field === 'card-number') {
      this.last4 = this.digits.lastDigitsText(4);
      if (this.options.binDigits > 0 && this.digits.length >= this.options.binDigits + 4) this.bin = this.digits.prefixText(this.options.binDigits);
    }
    this.stateValue = next;
    return next;
  }

  private check(input: FieldInput): void {
    if (TRANSITIONS[this.stateValue][input] === undefined) {
      throw new TonewallError('ESECURE_FIELD_TRANSITION', `field ${this.field} cannot take ${input} in state ${this.stateValue}`);
    }
  }
}
