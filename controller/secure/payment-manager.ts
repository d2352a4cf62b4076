/**
 * All payment sessions of the appliance: at most one active session per call, any number in
 * sequence; `start` is idempotent by request id (a repeated pay.start returns the same session, even
 * after it ended, for the last `rememberRequests` requests). The call manager feeds keys, hang-ups,
 * masking faults and encoded uplink payloads in by call id; the agent's commands come in by session id.
 *
 * Events out (for fleet `pay/{sessionId}` + `events/pay`, and SIP INFO toward the agent):
 *   progress(snapshot) · ended(snapshot with result and masking record) · masking-alarm(...) ·
 *   uplink-released({sessionId, callId}) when the call's uplink is back to normal
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../hw/base/clock';
import { TonewallError } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { TypedEmitter } from '../../hw/base/typed-emitter';
import type { CompandingLaw } from '../media/g711';
import type { PaymentField } from './field-rules';
import { PaymentSession, type PaymentSessionEvents, type SecureKeyEvent, type SecureUplink } from './payment-session';
import type { PaymentPolicy, PaymentRequest, PaymentSnapshot } from './payment-types';
import type { ProcessorConnector } from './processor-types';

export interface PaymentManagerOptions {
  policy: PaymentPolicy;
  connector: ProcessorConnector;
  clock: Clock;
  logger: Logger;
  /** Session id source (default: random UUID). */
  newSessionId?: () => string;
  rememberRequests?: number;
}

/** Counters for the metrics topic (nothing dropped silently). */
export interface PaymentCounters {
  started: number;
  approved: number;
  declined: number;
  error: number;
  cancelled: number;
  timedOut: number;
  maskingAlarms: number;
  /** Keys that reached no field (letters, non-secure, between fields), summed over ended sessions. */
  discardedKeys: number;
}

export class PaymentManager extends TypedEmitter<PaymentSessionEvents> {
  readonly counters: PaymentCounters = { started: 0, approved: 0, declined: 0, error: 0, cancelled: 0, timedOut: 0, maskingAlarms: 0, discardedKeys: 0 };
  private readonly byCall = new Map<string, PaymentSession>();
  private readonly bySession = new Map<string, PaymentSession>();
  /** Ended sessions still holding their call's uplink muted (fault hold), by call. */
  private readonly held = new Map<string, PaymentSession>();
  /** requestId → session, oldest first (bounded). */
  private readonly byRequest = new Map<string, PaymentSession>();
  private readonly log: Logger;
  private readonly remember: number;

  constructor(private readonly o: PaymentManagerOptions) {
    super();
    this.log = o.logger.child('secure');
    this.remember = o.rememberRequests ?? 256;
  }

  /**
   * Starts a session on `request.callId`, putting `uplink` (the call's UplinkDsp) in secure mode.
   * Same request id again → the existing session's snapshot. Another active session on the call →
   * ESECURE_BUSY.
   */
  start(request: PaymentRequest, uplink: SecureUplink): PaymentSnapshot {
    const known = this.byRequest.get(request.requestId);
    if (known) {
      if (known.request.callId !== request.callId) {
        throw new TonewallError('ESECURE_REQUEST_ID', `request id ${request.requestId} was used for call ${known.request.callId}, not ${request.callId}`);
      }
      return known.snapshot();
    }
    const active = this.byCall.get(request.callId);
    if (active) throw new TonewallError('ESECURE_BUSY', `call ${request.callId} already has payment session ${active.sessionId} (${active.state})`);
    // A new session takes over a muted uplink from a faulted one: release, then enter afresh.
    this.held.get(request.callId)?.releaseUplink();
    const session = new PaymentSession({
      sessionId: this.o.newSessionId?.() ?? randomUUID(),
      request,
      policy: this.o.policy,
      uplink,
      connector: this.o.connector,
      clock: this.o.clock,
      logger: this.log,
    });
    session.on('progress', (s) => this.emit('progress', s));
    session.on('masking-alarm', (a) => {
      this.counters.maskingAlarms++;
      this.emit('masking-alarm', a);
    });
    session.on('uplink-released', (r) => {
      if (this.held.get(r.callId) === session) this.held.delete(r.callId);
      this.emit('uplink-released', r);
    });
    session.on('ended', (s) => {
      this.count(s);
      this.byCall.delete(s.callId);
      this.bySession.delete(s.sessionId);
      if (session.holdingUplink) this.held.set(s.callId, session);
      this.emit('ended', s);
    });
    this.byCall.set(request.callId, session);
    this.bySession.set(session.sessionId, session);
    this.byRequest.set(request.requestId, session);
    while (this.byRequest.size > this.remember) {
      const oldest = this.byRequest.keys().next();
      if (oldest.done) break;
      this.byRequest.delete(oldest.value);
    }
    this.counters.started++;
    session.begin();
    return session.snapshot();
  }

  /** A key from the call's masking engine (`UplinkDigitEvent`: only `code` and `secure` are used). */
  key(callId: string, event: SecureKeyEvent): void {
    this.byCall.get(callId)?.key(event);
  }

  /** The call ended: its active session (if any) is cancelled with reason hangup. */
  hangup(callId: string): void {
    const s = this.byCall.get(callId);
    if (s && s.state !== 'submitting') s.cancel('hangup');
    this.held.get(callId)?.releaseUplink();
  }

  /** The call's masking engine faulted (UplinkDsp `onFault` while secure). */
  maskingFault(callId: string): void {
    this.byCall.get(callId)?.maskingFault();
  }

  /** An encoded uplink RTP payload of the call, in send order (the second check). */
  observePayload(callId: string, payload: Uint8Array, law: CompandingLaw): void {
    this.byCall.get(callId)?.observePayload(payload, law);
  }

  cancel(sessionId: string): PaymentSnapshot {
    const s = this.session(sessionId);
    s.cancel('agent');
    return s.snapshot();
  }

  clearField(sessionId: string, field?: PaymentField): PaymentSnapshot {
    const s = this.session(sessionId);
    s.clearField(field);
    return s.snapshot();
  }

  /** Status of an active session, or of a remembered ended one. */
  status(sessionId: string): PaymentSnapshot {
    const live = this.bySession.get(sessionId);
    if (live) return live.snapshot();
    for (const s of this.byRequest.values()) if (s.sessionId === sessionId) return s.snapshot();
    throw new TonewallError('ESECURE_UNKNOWN_SESSION', `payment session ${sessionId} is not known`);
  }

  activeSessionOf(callId: string): string | undefined {
    return this.byCall.get(callId)?.sessionId;
  }

  private count(s: PaymentSnapshot): void {
    const c = this.counters;
    c.discardedKeys += s.discardedKeys;
    if (s.state === 'approved') c.approved++;
    else if (s.state === 'declined') c.declined++;
    else if (s.state === 'error') c.error++;
    else if (s.state === 'cancelled') c.cancelled++;
    else if (s.state === 'timed-out') c.timedOut++;
  }

  private session(sessionId: string): PaymentSession {
    const s = this.bySession.get(sessionId);
    if (!s) throw new TonewallError('ESECURE_UNKNOWN_SESSION', `payment session ${sessionId} is not active`);
    return s;
  }
}
