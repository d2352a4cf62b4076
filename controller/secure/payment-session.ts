/**
 * One secure payment session on one call (DESIGN.md §2 "Secure payment session", §5, §7).
 *
 *   started ──begin──► collecting(field) ──all fields complete──► submitting ──► approved | declined | error
 *      │                  │ cancel / hangup ──► cancelled                        (processor result)
 *      │                  │ field or session timeout ──► timed-out
 *      └─────────────────►│ masking fault, attempts exhausted ──► error
 *
 * Contract:
 * - Input is key codes 0–15 from the masking engine (`UplinkDigitEvent`); only digits pressed in
 *   secure mode (`secure: true`) reach a field; anything else is counted, never stored.
 * - On entry the call's uplink goes secure (`uplink.enterSecure()`); on any end it leaves
 *   (`exitSecure()`), every `CapturedDigits` is destroyed, and the masking record is computed.
 *   After a masking fault the uplink stays muted for `policy.faultHoldMs` after the result (the caller
 *   may still be keying), unless the manager releases it earlier (new session, hang-up).
 * - Captured digits are destroyed the moment the connector has sealed them, before the network.
 * - Timers are armed on entry to a state and cleared on exit; time comes from the injected clock.
 * - No digit reaches a log, an event, an error message: events carry `PaymentSnapshot` only.
 */
import type { Clock, TimerHandle } from '../../hw/base/clock';
import { errorCode, TonewallError } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { TypedEmitter } from '../../hw/base/typed-emitter';
import type { CompandingLaw } from '../media/g711';
import { CARD_BRANDS, detectBrand, type BrandRule } from './card-brands';
import { FieldCapture, type FieldFeedback } from './field-capture';
import type { PaymentField } from './field-rules';
import { keyOfCode } from './keypad';
import { computeMaskingRecord, type MaskingRecord } from './masking-record';
import type { PaymentOutcome, PaymentPolicy, PaymentRequest, PaymentSnapshot, PaymentState } from './payment-types';
import type { PaymentSecrets, ProcessorConnector, ProcessorResult, SealedPayment } from './processor-types';
import { UplinkAudit } from './uplink-audit';

/** What a session needs of the call's uplink DSP (`UplinkDsp` satisfies it). */
export interface SecureUplink {
  enterSecure(): void;
  exitSecure(): void;
  /** Cumulative tones replaced by the masker. */
  readonly maskedTones: number;
  /** True while the masking has failed closed (uplink muted). */
  readonly faulted: boolean;
  /** Optional policy hook: blank the whole uplink (comfort noise) while true. */
  setBlanking?(on: boolean): void;
}

/** A key from the masking engine: `code` 0–15, `secure` true when it was masked. */
export interface SecureKeyEvent {
  code: number;
  secure: boolean;
}

type SessionEvent = 'begin' | 'submit' | 'result' | 'cancel' | 'timeout' | 'fail';

const TRANSITIONS: Record<PaymentState, Partial<Record<SessionEvent, readonly PaymentState[]>>> = {
  started: { begin: ['collecting'], cancel: ['cancelled'], fail: ['error'] },
  collecting: { submit: ['submitting'], cancel: ['cancelled'], timeout: ['timed-out'], fail: ['error'] },
  submitting: { result: ['approved', 'declined', 'error'], fail: ['error'] },
  approved: {},
  declined: {},
  error: {},
  cancelled: {},
  'timed-out': {},
};

export interface PaymentSessionOptions {
  sessionId: string;
  request: PaymentRequest;
  policy: PaymentPolicy;
  uplink: SecureUplink;
  connector: ProcessorConnector;
  clock: Clock;
  logger: Logger;
}

export interface PaymentSessionEvents {
  progress: [PaymentSnapshot];
  ended: [PaymentSnapshot];
  /** The session has given the uplink back (at its end, or after the fault hold). */
  'uplink-released': [{ sessionId: string; callId: string }];
  /** The second check found a digit in what left: raise a critical alarm. */
  'masking-alarm': [{ sessionId: string; callId: string; digitsFound: number }];
}

export class PaymentSession extends TypedEmitter<PaymentSessionEvents> {
  readonly sessionId: string;
  readonly request: PaymentRequest;
  private stateValue: PaymentState = 'started';
  private readonly fields: FieldCapture[];
  private current: FieldCapture | undefined;
  private readonly audit = new UplinkAudit();
  private fieldTimer: TimerHandle | undefined;
  private sessionTimer: TimerHandle | undefined;
  private discardedKeys = 0;
  private maskedAtStart = 0;
  private faultSeen = false;
  private blanking = false;
  private entered = false;
  private uplinkReleased = false;
  private holdTimer: TimerHandle | undefined;
  private readonly startedAt: number;
  private endedAt: number | undefined;
  private finalFeedback: FieldFeedback[] | undefined;
  private result: PaymentSnapshot['result'];
  private readonly log: Logger;

  constructor(private readonly o: PaymentSessionOptions) {
    super();
    this.sessionId = o.sessionId;
    this.request = o.request;
    this.startedAt = o.clock.now();
    this.log = o.logger;
    const accepted = o.request.acceptedBrands ?? CARD_BRANDS;
    this.fields = o.request.fields.map(
      (field) =>
        new FieldCapture({
          field,
          binDigits: o.policy.binDigits,
          context: () => ({ acceptedBrands: accepted, clock: o.clock, cardBrand: this.cardBrand(), postcodeLength: o.policy.postcodeLength }),
        }),
    );
  }

  get state(): PaymentState {
    return this.stateValue;
  }

  get ended(): boolean {
    return this.endedAt !== undefined;
  }

  /** Enter secure mode and start collecting the first field. */
  begin(): void {
    this.check('begin');
    try {
      this.maskedAtStart = this.o.uplink.maskedTones;
      this.o.uplink.enterSecure();
      this.entered = true;
    } catch (err) {
      this.end('error', 'secure-mode-failed', undefined, err);
      return;
    }
    this.stateValue = 'collecting';
    this.sessionTimer = this.o.clock.setTimeout(() => this.timeout('session-timeout'), this.o.request.sessionTimeoutMs ?? this.o.policy.sessionTimeoutMs);
    this.log.info('payment session collecting', { sessionId: this.sessionId, callId: this.request.callId, fields: this.request.fields.length });
    this.moveToNextField();
  }

  /** A key from the masking engine. */
  key(event: SecureKeyEvent): void {
    if (this.stateValue !== 'collecting' || !this.current) {
      this.discardedKeys++;
      return;
    }
    const key = keyOfCode(event.code);
    if (!event.secure || key === undefined || key.kind === 'letter') {
      this.discardedKeys++;
      return;
    }
    const field = this.current;
    const p = this.o.policy;
    if (key.kind === 'digit') field.digit(key.value);
    else if (key.kind === p.clearKey) field.clear();
    // An end key on a field with nothing in it is the caller's habit after a field that completed
    // by itself ("…1111#", "1228#"): it is discarded, not judged as an empty entry and an attempt.
    else if (key.kind === p.endKey && field.state === 'empty') this.discardedKeys++;
    else if (key.kind === p.endKey && field.accepts('end')) field.end();
    else this.discardedKeys++;
    this.afterFieldInput(field);
  }

  /** The agent's clear_field: clears `field` (default: the current one) and collects it again;
   *  clearing the card number clears the security code too. */
  clearField(field?: PaymentField): void {
    if (this.stateValue !== 'collecting') {
      throw new TonewallError('ESECURE_STATE', `clear_field needs state collecting; session ${this.sessionId} is ${this.stateValue}`);
    }
    const target = field === undefined ? this.current : this.fields.find((f) => f.field === field);
    if (!target) throw new TonewallError('ESECURE_FIELD', `field ${String(field)} is not one of this session's fields (${this.request.fields.join(', ')})`);
    target.clear();
    // The security code belongs to the card (its length too): a new card number needs a new one.
    if (target.field === 'card-number') this.fields.find((f) => f.field === 'security-code' && f.state !== 'empty')?.clear();
    this.moveToNextField();
  }

  /** The agent's cancel, or the call hung up (`reason: 'hangup'`). Not possible while submitting. */
  cancel(reason: 'agent' | 'hangup' = 'agent'): void {
    if (this.stateValue === 'submitting') {
      throw new TonewallError('ESECURE_STATE', `session ${this.sessionId} is submitting to the processor and cannot be cancelled`);
    }
    if (this.ended) return;
    this.end('cancelled', reason);
  }

  /** The masking engine faulted (it has muted the uplink): the session ends with an error. */
  maskingFault(): void {
    this.faultSeen = true;
    if (this.ended || this.stateValue === 'submitting') return;
    this.end('error', 'masking-fault');
  }

  /** An encoded uplink payload that left during the session (the masking record's second check). */
  observePayload(payload: Uint8Array, law: CompandingLaw): void {
    if (!this.ended) this.audit.feedPayload(payload, law);
  }

  snapshot(): PaymentSnapshot {
    const s: PaymentSnapshot = {
      sessionId: this.sessionId,
      requestId: this.request.requestId,
      callId: this.request.callId,
      state: this.stateValue,
      fields: this.finalFeedback ?? this.fields.map((f) => f.feedback()),
      discardedKeys: this.discardedKeys,
      startedAt: this.startedAt,
    };
    if (this.stateValue === 'collecting' && this.current) s.field = this.current.field;
    if (this.endedAt !== undefined) s.endedAt = this.endedAt;
    if (this.result) s.result = this.result;
    return s;
  }

  private cardBrand(): BrandRule | undefined {
    const card = this.fields.find((f) => f.field === 'card-number');
    if (!card) return undefined;
    const m = detectBrand(card.digits);
    return m.kind === 'brand' ? m.rule : undefined;
  }

  private afterFieldInput(field: FieldCapture): void {
    if (field.state === 'rejected' && field.rejections >= this.o.policy.maxAttemptsPerField) {
      this.end('error', 'attempts-exhausted');
      return;
    }
    if (field.state === 'complete') {
      this.moveToNextField();
      return;
    }
    this.armFieldTimer();
    this.emit('progress', this.snapshot());
  }

  /** Current = the first field not yet complete; none left → submit. */
  private moveToNextField(): void {
    this.current = this.fields.find((f) => f.state !== 'complete');
    this.setBlanking(this.o.policy.blankDuringSecurityCode && this.current?.field === 'security-code');
    if (!this.current) {
      void this.submit();
      return;
    }
    this.armFieldTimer();
    this.emit('progress', this.snapshot());
  }

  private async submit(): Promise<void> {
    this.check('submit');
    this.stateValue = 'submitting';
    this.clearTimers();
    this.finalFeedback = this.fields.map((f) => f.feedback());
    this.emit('progress', this.snapshot());
    let sealed: SealedPayment;
    try {
      sealed = await this.o.connector.seal(this.secrets());
    } catch (err) {
      this.end('error', 'seal-failed', undefined, err);
      return;
    } finally {
      for (const f of this.fields) f.destroy();
    }
    let result: ProcessorResult;
    try {
      result = await this.o.connector.send(sealed, {
        sessionId: this.sessionId,
        idempotencyKey: `${this.sessionId}`,
        amountMinor: this.request.amountMinor,
        currency: this.request.currency,
        reference: this.request.reference,
      });
    } catch (err) {
      result = { outcome: 'error', reason: 'connector-failed' };
      this.log.error('processor connector threw', { sessionId: this.sessionId, code: errorCode(err) });
    }
    if (this.ended) return;
    this.check('result');
    this.end(result.outcome, result.reason, result.reference);
  }

  private secrets(): PaymentSecrets {
    const get = (field: PaymentField) => this.fields.find((f) => f.field === field)?.digits;
    const s: PaymentSecrets = {};
    const card = get('card-number');
    const expiry = get('expiry');
    const code = get('security-code');
    const postcode = get('postcode');
    if (card) s.cardNumber = card;
    if (expiry) s.expiry = expiry;
    if (code) s.securityCode = code;
    if (postcode) s.postcode = postcode;
    return s;
  }

  private timeout(reason: 'field-timeout' | 'session-timeout'): void {
    if (this.stateValue !== 'collecting') return;
    this.end('timed-out', reason);
  }

  private end(outcome: PaymentOutcome, reason?: string, reference?: string, cause?: unknown): void {
    if (this.ended) return;
    const event: SessionEvent = outcome === 'cancelled' ? 'cancel' : outcome === 'timed-out' ? 'timeout' : this.stateValue === 'submitting' ? 'result' : 'fail';
    this.check(event);
    this.clearTimers();
    this.finalFeedback ??= this.fields.map((f) => f.feedback());
    for (const f of this.fields) f.destroy();
    this.setBlanking(false);
    const masking = this.maskingRecord();
    // Fail closed (DESIGN.md §2 step 7): after a masking fault the caller may still be keying, so the
    // uplink stays muted for `faultHoldMs` after the result before it goes back to normal.
    if (reason === 'masking-fault' && this.o.policy.faultHoldMs > 0) {
      this.holdTimer = this.o.clock.setTimeout(() => this.releaseUplink(), this.o.policy.faultHoldMs);
    } else {
      this.releaseUplink();
    }
    this.stateValue = outcome;
    this.endedAt = this.o.clock.now();
    const card = this.finalFeedback.find((f) => f.field === 'card-number');
    this.result = { outcome, masking };
    if (reason !== undefined) this.result.reason = reason;
    if (reference !== undefined) this.result.processorReference = reference;
    if (card?.brand !== undefined) this.result.brand = card.brand;
    if (card?.last4 !== undefined) this.result.last4 = card.last4;
    const fields: Record<string, unknown> = { sessionId: this.sessionId, callId: this.request.callId, outcome, reason, maskedTones: masking.maskedTones };
    if (cause !== undefined) fields.code = errorCode(cause);
    this.log.info('payment session ended', fields);
    if (!masking.clean) {
      this.log.fatal('masking second check found a digit in the uplink', { sessionId: this.sessionId, digitsFound: masking.secondCheck.digitsFound });
      this.emit('masking-alarm', { sessionId: this.sessionId, callId: this.request.callId, digitsFound: masking.secondCheck.digitsFound });
    }
    this.emit('ended', this.snapshot());
  }

  /** Whether the session still holds the uplink in secure (or muted) mode after it ended. */
  get holdingUplink(): boolean {
    return this.entered && !this.uplinkReleased;
  }

  /** Leaves secure mode (once). Called at the end, after a fault hold, or early by the manager. */
  releaseUplink(): void {
    if (!this.entered || this.uplinkReleased) return;
    this.uplinkReleased = true;
    this.holdTimer?.cancel();
    this.holdTimer = undefined;
    try {
      this.o.uplink.exitSecure();
    } catch (err) {
      this.log.warn('uplink did not leave secure mode', { sessionId: this.sessionId, code: errorCode(err) });
    }
    this.emit('uplink-released', { sessionId: this.sessionId, callId: this.request.callId });
  }

  private maskingRecord(): MaskingRecord {
    let atEnd = this.maskedAtStart;
    let faulted = this.faultSeen;
    try {
      atEnd = this.o.uplink.maskedTones;
      faulted ||= this.o.uplink.faulted;
    } catch {
      faulted = true;
    }
    return computeMaskingRecord({ maskedTonesAtStart: this.maskedAtStart, maskedTonesAtEnd: atEnd, faulted, detector: this.audit.detector, audit: this.audit.result });
  }

  private setBlanking(on: boolean): void {
    if (on === this.blanking || !this.o.uplink.setBlanking) return;
    this.blanking = on;
    this.o.uplink.setBlanking(on);
  }

  private armFieldTimer(): void {
    this.fieldTimer?.cancel();
    this.fieldTimer = this.o.clock.setTimeout(() => this.timeout('field-timeout'), this.request.fieldTimeoutMs ?? this.o.policy.fieldTimeoutMs);
  }

  private clearTimers(): void {
    this.fieldTimer?.cancel();
    this.sessionTimer?.cancel();
    this.fieldTimer = undefined;
    this.sessionTimer = undefined;
  }

  private check(event: SessionEvent): void {
    if (TRANSITIONS[this.stateValue][event] === undefined) {
      throw new TonewallError('ESECURE_TRANSITION', `payment session cannot ${event} in state ${this.stateValue}`);
    }
  }
}
