/**
 * Q.931 basic call control for one call reference (Q.931 §5.1-5.3, §5.8), user side (U states) or
 * network side (N states). The states are named by what happened; the Q.931 number reported in STATUS
 * depends on the side:
 *
 *   outgoing (we sent SETUP)             incoming (we received SETUP)
 *   null ─SETUP▶ out-initiated U1/N6     null ─SETUP▶ in-present U6/N1
 *     ─CALL PROC▶ out-proceeding U3/N9     proceeding() ▶ in-proceeding U9/N3
 *     ─ALERTING▶ out-delivered U4/N7       alerting()   ▶ in-received U7/N4
 *     ─CONNECT (→ CONNECT ACK)▶ active     connect()    ▶ in-connect-request U8 ─CONNECT ACK▶ active U10
 *                                           (network side: connect() ▶ active N10)
 *   clearing: disconnect() ▶ disconnect-request U11/N12 ─RELEASE▶ null (RELEASE COMPLETE sent)
 *             DISCONNECT ▶ disconnect-indication U12/N11 ▶ RELEASE sent ▶ release-request U19/N19 ─REL COMP▶ null
 *
 * Timers (Q.931 §9): T303 SETUP, T305 DISCONNECT, T308 RELEASE, T309 data link lost, T310 CALL PROCEEDING,
 * T313 CONNECT (user). Messages out through `send`; time through the injected Clock.
 */
import type { Clock, TimerHandle } from '../../../hw/base/clock';
import { TonewallError } from '../../../hw/base/errors';
import type { Logger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { Q931Ie } from './q931-ie';
import { findIe, type Q931Message, type Q931MessageType } from './q931-message';
import { causeIe, channelIe, setupIes, type SetupParams } from './q931-setup';
import type { SwitchVariant } from './switch-variant';

import { CAUSE, PRIMITIVES, STATE_NUMBERS, TABLE, type CallState, type Input, type Q931Side, type Timer } from './q931-call-table';

export { CAUSE, STATE_NUMBERS, type CallState, type Q931Side } from './q931-call-table';

export interface Q931CallEvents {
  state: [from: CallState, to: CallState];
  /** The far end moved the call to another B channel (CALL PROCEEDING/ALERTING/CONNECT channel id). */
  channel: [channel: number];
  proceeding: [];
  alerting: [];
  progress: [description: number];
  /** Active: audio flows both ways on the B channel. */
  connected: [];
  /** The call reference is free again; `cause` is the Q.850 value, `by` who started clearing. */
  released: [cause: number, by: 'peer' | 'local', channelSuspect: boolean];
}

export interface Q931CallOptions {
  side: Q931Side;
  variant: SwitchVariant;
  callRef: number;
  /** true when this side allocated the call reference (outgoing call): our messages carry flag 0. */
  originator: boolean;
  clock: Clock;
  log: Logger;
  send: (msg: Q931Message) => void;
}

export class Q931Call extends TypedEmitter<Q931CallEvents> {
  private st: CallState = 'null';
  private readonly timers = new Map<Timer, TimerHandle>();
  private setupMsg: Q931Message | undefined;
  private expiries = 0;
  private clearingCause: number = CAUSE.normal;
  private clearedBy: 'peer' | 'local' = 'local';
  private readonly log: Logger;
  /** The B channel in use, once agreed. */
  channel: number | undefined;

  constructor(private readonly opts: Q931CallOptions) {
    super();
    this.log = opts.log.child('q931');
  }

  get state(): CallState {
    return this.st;
  }
  get callRef(): number {
    return this.opts.callRef;
  }
  get stateNumber(): number {
    return STATE_NUMBERS[this.st][this.opts.side === 'user' ? 0 : 1];
  }

  // ---- primitives from the application ----

  /** Sends SETUP (outgoing call). */
  setup(params: SetupParams): void {
    this.require('setup');
    this.channel = params.channel;
    this.setupMsg = this.message('SETUP', setupIes(params, this.opts.variant));
    this.opts.send(this.setupMsg);
    this.enter('out-initiated');
    this.start('T303', this.opts.variant.timers.t303Ms);
  }

  /** A SETUP was received for this call reference and accepted on `channel`. */
  receivedSetup(channel: number): void {
    this.require('setup');
    this.channel = channel;
    this.enter('in-present');
  }

  proceeding(): void {
    this.require('proceeding');
    this.sendMsg('CALL PROCEEDING', this.channelIes());
    this.enter('in-proceeding');
  }

  alerting(inbandProgress = false): void {
    this.require('alerting');
    const ies = this.channelIes();
    if (inbandProgress) ies.push({ id: 'progress', location: this.location(), description: 8 });
    this.sendMsg('ALERTING', ies);
    this.enter('in-received');
  }

  connect(): void {
    this.require('connect');
    this.sendMsg('CONNECT', this.channelIes());
    if (this.opts.side === 'user') {
      this.enter('in-connect-request');
      this.start('T313', this.opts.variant.timers.t313Ms);
    } else {
      this.enter('active');
      this.emit('connected');
    }
  }

  progress(description: number): void {
    this.require('progress');
    this.sendMsg('PROGRESS', [{ id: 'progress', location: this.location(), description }]);
  }

  /** Clears the call with a Q.850 cause; idempotent once clearing has started. */
  disconnect(cause: number): void {
    if (this.st === 'null' || this.st === 'disconnect-request' || this.st === 'release-request' || this.st === 'disconnect-indication') return;
    this.clearedBy = 'local';
    if (this.st === 'in-present') {
      this.sendMsg('RELEASE COMPLETE', [causeIe(cause, this.location())]);
      this.finish(cause, false);
      return;
    }
    this.clearWithDisconnect(cause);
  }

  /** One message for this call reference. */
  receive(msg: Q931Message): void {
    const input: Input = msg.type;
    const handler = TABLE[this.st][input];
    if (!handler) {
      this.log.debug('message not compatible with call state', { state: this.st, message: msg.type });
      this.sendStatus(CAUSE.notCompatible);
      return;
    }
    handler(this, msg);
  }

  /** Data link failure (Q.931 §5.8.9): non-active calls clear now; active ones wait T309 for the link. */
  linkDown(): void {
    if (this.st === 'null') return;
    if (this.st !== 'active') {
      this.clearInternally(CAUSE.tempFailure, 'local', false);
      return;
    }
    // Repeated failures while re-establishing must not push the deadline back.
    if (!this.timers.has('T309')) this.start('T309', this.opts.variant.timers.t309Ms);
  }

  /** Data link back (Q.931 §5.8.8): stop T309 and check the peer's view of the call with STATUS ENQUIRY. */
  linkUp(): void {
    if (!this.timers.has('T309')) return;
    this.stop('T309');
    this.sendMsg('STATUS ENQUIRY', []);
  }

  /** Clears without any message (RESTART of the channel, link loss, T309). */
  clearInternally(cause: number, by: 'peer' | 'local', channelSuspect: boolean): void {
    if (this.st === 'null') return;
    this.clearedBy = by;
    this.finish(cause, channelSuspect);
  }

  // ---- handlers (called from TABLE) ----

  onProgressing(msg: Q931Message | undefined, next: 'out-proceeding' | 'out-delivered'): void {
    this.stop('T303');
    this.takeChannel(msg);
    if (next === 'out-proceeding') this.start('T310', this.opts.variant.timers.t310Ms);
    else this.stop('T310');
    const wasNew = this.st !== next;
    this.enter(next);
    if (wasNew) this.emit(next === 'out-proceeding' ? 'proceeding' : 'alerting');
    // A progress indicator in CALL PROCEEDING / ALERTING (Q.931 §4.5.23), e.g. #8 in-band ringback.
    const p = msg ? findIe(msg, 'progress') : undefined;
    if (p) this.emit('progress', p.description);
  }

  onConnect(msg: Q931Message | undefined): void {
    this.stop('T303');
    this.stop('T310');
    this.takeChannel(msg);
    this.sendMsg('CONNECT ACKNOWLEDGE', []);
    this.enter('active');
    this.emit('connected');
  }

  onConnectAck(): void {
    this.stop('T313');
    this.enter('active');
    this.emit('connected');
  }

  onProgress(msg: Q931Message | undefined): void {
    const p = msg ? findIe(msg, 'progress') : undefined;
    if (p) this.emit('progress', p.description);
  }

  onDisconnect(msg: Q931Message | undefined): void {
    this.stopAll();
    this.clearedBy = 'peer';
    this.clearingCause = (msg && findIe(msg, 'cause')?.value) ?? CAUSE.normal;
    this.enter('disconnect-indication');
    this.sendRelease(undefined);
  }

  onDisconnectCollision(msg: Q931Message | undefined): void {
    this.stop('T305');
    this.clearingCause = (msg && findIe(msg, 'cause')?.value) ?? this.clearingCause;
    this.sendRelease(undefined);
  }

  onRelease(msg: Q931Message | undefined): void {
    if (this.st !== 'disconnect-request') this.clearedBy = 'peer';
    const cause = (msg && findIe(msg, 'cause')?.value) ?? this.clearingCause;
    this.sendMsg('RELEASE COMPLETE', []);
    this.finish(cause, false);
  }

  onReleaseComplete(msg: Q931Message | undefined): void {
    if (this.st !== 'release-request' && this.st !== 'disconnect-request') this.clearedBy = 'peer';
    const cause = (msg && findIe(msg, 'cause')?.value) ?? this.clearingCause;
    this.finish(cause, false);
  }

  onStatus(msg: Q931Message | undefined): void {
    const peerState = msg ? findIe(msg, 'call-state')?.value : undefined;
    if (peerState === 0) {
      this.log.info('peer reports the call in Null state; releasing the call reference', { callRef: this.callRef, state: this.st });
      this.clearInternally(CAUSE.notCompatible, 'peer', false);
    }
  }

  onT303(): void {
    if (this.expiries === 0 && this.setupMsg) {
      this.expiries++;
      this.opts.send(this.setupMsg);
      this.start('T303', this.opts.variant.timers.t303Ms);
      return;
    }
    this.sendMsg('RELEASE COMPLETE', [causeIe(CAUSE.timerExpiry, this.location())]);
    this.clearedBy = 'local';
    this.finish(CAUSE.timerExpiry, false);
  }

  onT305(): void {
    this.sendRelease(this.clearingCause);
  }

  onT308(): void {
    if (this.expiries === 0) {
      this.expiries++;
      this.sendMsg('RELEASE', [causeIe(this.clearingCause, this.location())]);
      this.start('T308', this.opts.variant.timers.t308Ms);
      return;
    }
    // Q.931 §5.3.4.3: second expiry releases the call reference; the B channel goes to maintenance.
    this.finish(this.clearingCause, true);
  }

  clearWithDisconnect(cause: number): void {
    this.stopAll();
    this.clearingCause = cause;
    this.sendMsg('DISCONNECT', [causeIe(cause, this.location())]);
    this.enter('disconnect-request');
    this.start('T305', this.opts.variant.timers.t305Ms);
  }

  sendStatus(cause: number): void {
    this.sendMsg('STATUS', [causeIe(cause, this.location()), { id: 'call-state', value: this.stateNumber }]);
  }

  // ---- internals ----

  private sendRelease(cause: number | undefined): void {
    this.stop('T305');
    this.expiries = 0;
    this.sendMsg('RELEASE', cause === undefined ? [] : [causeIe(cause, this.location())]);
    this.enter('release-request');
    this.start('T308', this.opts.variant.timers.t308Ms);
  }

  private finish(cause: number, channelSuspect: boolean): void {
    this.stopAll();
    this.enter('null');
    this.emit('released', cause, this.clearedBy, channelSuspect);
  }

  private takeChannel(msg: Q931Message | undefined): void {
    const ci = msg ? findIe(msg, 'channel-id') : undefined;
    const ch = ci?.selection === 'indicated' ? ci.channels[0] : undefined;
    if (ch !== undefined && ch !== this.channel) {
      this.channel = ch;
      this.emit('channel', ch);
    }
  }

  private channelIes(): Q931Ie[] {
    // ETSI EN 300 403 §5.2.3.1: the first answer to SETUP carries the channel, exclusive.
    return this.channel === undefined || this.st !== 'in-present' ? [] : [channelIe(this.channel)];
  }

  /** Cause/progress location: 0 user, 2 public network serving the local user. */
  private location(): number {
    return this.opts.side === 'user' ? 0 : 2;
  }

  private message(type: Q931MessageType, ies: Q931Ie[]): Q931Message {
    return { callRef: { length: 2, flag: !this.opts.originator, value: this.opts.callRef }, type, ies };
  }

  private sendMsg(type: Q931MessageType, ies: Q931Ie[]): void {
    this.opts.send(this.message(type, ies));
  }

  private require(primitive: keyof typeof PRIMITIVES): void {
    const allowed: readonly CallState[] = PRIMITIVES[primitive];
    if (!allowed.includes(this.st)) {
      throw new TonewallError('EQ931_STATE', `Q.931 ${primitive} is not allowed in call state ${this.st} (call reference ${this.callRef}); allowed in ${allowed.join(', ')}`);
    }
  }

  private enter(state: CallState): void {
    if (state === this.st) return;
    const from = this.st;
    this.st = state;
    this.log.debug('call state', { callRef: this.callRef, from, to: state });
    this.emit('state', from, state);
  }

  private start(timer: Timer, ms: number): void {
    this.stop(timer);
    this.timers.set(
      timer,
      this.opts.clock.setTimeout(() => {
        this.timers.delete(timer);
        const handler = TABLE[this.st][timer];
        if (handler) handler(this, undefined);
      }, ms),
    );
  }

  private stop(timer: Timer): void {
    this.timers.get(timer)?.cancel();
    this.timers.delete(timer);
  }

  private stopAll(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }
}
