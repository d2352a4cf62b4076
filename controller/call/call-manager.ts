/**
 * The call manager: the only part that knows both the PSTN and SIP (DESIGN.md §3). It takes
 * inbound PSTN calls, routes the called number to a SIP URI, opens media, and moves 10 ms PCM
 * chunks between the card and each call's media at the card's clock. SIP → PSTN: `acceptSip` takes
 * an INVITE from the SIP side, routes its number (`sip.routing`, number-routing.ts) and places the
 * call on the PSTN (`PstnDialer`, outbound-call.ts). INFO on any call's dialog goes to the one
 * handler registered with `onInfo` (RFC 6086; the payments wiring uses it).
 */
import { randomUUID } from 'node:crypto';
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { TelephonyCard } from '../../hw/card/types';
import type { PstnCall, PstnDialer, PstnTrunkEvents } from '../pstn/types';
import type { TypedEmitter } from '../../hw/base/typed-emitter';
import { Call, type BridgedCall, type CallRecorder } from './call';
import { calledNumberOf, routeNumber, type RoutingRule } from './number-routing';
import { OutboundCall } from './outbound-call';
import type { InfoReply, InfoRequest, MediaFactory, SipDialer, SipInboundLeg } from './ports';

export interface CallManagerOptions {
  card: TelephonyCard;
  trunk: TypedEmitter<PstnTrunkEvents>;
  sip: SipDialer;
  media: MediaFactory;
  recorder: CallRecorder;
  log: Logger;
  /** Contact-center URI template; `{called}` is replaced by the called number. */
  contactCenterUri: string;
  callIdHeader: string;
  now?: () => number;
  newCallId?: () => string;
  /** SIP → PSTN: the trunk side that places outward calls; absent: such calls are refused 403. */
  dialer?: PstnDialer;
  /** SIP → PSTN number manipulation (config `sip.routing`). */
  routing?: readonly RoutingRule[];
}

export class CallManager {
  private readonly calls = new Map<string, BridgedCall>();
  private readonly byChannel = new Map<number, BridgedCall>();
  private draining = false;
  private infoHandler: ((req: InfoRequest) => InfoReply | Promise<InfoReply>) | undefined;
  private readonly onIncoming = (pstn: PstnCall): void => {
    this.accept(pstn).catch((err: unknown) => {
      this.opts.log.error('inbound call failed to start', { trunk: pstn.info.trunk, err: errorMessage(err) });
      void pstn.hangup(41, 'call setup failed');
    });
  };
  private readonly onPcm = (channel: number, data: Buffer): void => {
    const call = this.byChannel.get(channel);
    const audio = call?.audio ?? 'none';
    if (!call || audio === 'none') return;
    if (audio === 'both') call.media.fromCard(data);
    this.opts.card.writePcm(channel, call.media.toCard());
  };

  constructor(private readonly opts: CallManagerOptions) {}

  start(): void {
    this.opts.trunk.on('incoming', this.onIncoming);
    this.opts.card.on('pcm', this.onPcm);
  }

  /** Stops taking calls and hangs up the ones in progress; resolves when their releases are done (at most `waitMs`). */
  async stop(reason = 'shutdown', waitMs = 2000): Promise<void> {
    this.opts.trunk.off('incoming', this.onIncoming);
    this.opts.card.off('pcm', this.onPcm);
    const released = Promise.all([...this.calls.values()].map((call) => call.hangup(reason)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([released, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  /** No new calls; calls in progress finish (DESIGN.md §6 drain). */
  setDraining(draining: boolean): void {
    this.draining = draining;
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  list(): BridgedCall[] {
    return [...this.calls.values()];
  }

  get(callId: string): BridgedCall | undefined {
    return this.calls.get(callId);
  }

  /** INFO received on a call's dialog (callId = the appliance's call id); one handler, the last set wins. */
  onInfo(handler: (req: InfoRequest) => InfoReply | Promise<InfoReply>): void {
    this.infoHandler = handler;
  }

  /** INFO on a call's dialog; resolves with the final status, rejects with a TonewallError when there is no such call/dialog. */
  sendInfo(callId: string, contentType: string, body: Buffer): Promise<number> {
    const call = this.calls.get(callId);
    if (!call) return Promise.reject(new TonewallError('ECALL_UNKNOWN', `no call ${callId}: expected the appliance call id of a live call`));
    return call.sendInfo(contentType, body);
  }

  /** An INVITE from the SIP side (the user agent's 'incoming-call'): route it and call out on the PSTN. */
  acceptSip(leg: SipInboundLeg): void {
    this.acceptOutbound(leg).catch((err: unknown) => {
      this.opts.log.error('SIP → PSTN call failed to start', { sipCallId: leg.sipCallId, err: errorMessage(err) });
      leg.reject(500, undefined, { cause: 41, text: 'call setup failed' });
    });
  }

  private async acceptOutbound(leg: SipInboundLeg): Promise<void> {
    const log = this.opts.log;
    if (this.draining) {
      log.info('SIP → PSTN call refused: draining', { sipCallId: leg.sipCallId });
      leg.reject(503, 'Draining', { cause: 34, text: 'appliance draining' });
      return;
    }
    const dialer = this.opts.dialer;
    if (!dialer) {
      leg.reject(403, 'Calls toward the PSTN are not enabled', { cause: 21, text: 'calls toward the PSTN are not enabled' });
      return;
    }
    let number: string;
    try {
      number = calledNumberOf(leg.requestUri);
    } catch (err) {
      log.info('SIP → PSTN call refused: no dialable number', { sipCallId: leg.sipCallId, err: errorMessage(err) });
      leg.reject(484, undefined, { cause: 28, text: 'invalid number format' });
      return;
    }
    const route = routeNumber(number, this.opts.routing ?? []);
    if (!route) {
      log.info('SIP → PSTN call refused: no route', { sipCallId: leg.sipCallId });
      leg.reject(404, undefined, { cause: 1, text: 'no route for the called number' });
      return;
    }
    const callId = (this.opts.newCallId ?? randomUUID)();
    const media = await this.opts.media.open({ callId, cardLaw: this.opts.card.info?.law ?? 'ulaw' });
    if (leg.state === 'terminated') {
      media.close(); // CANCELled while media was being opened
      return;
    }
    const call = new OutboundCall({
      callId,
      leg,
      calledNumber: route.calledNumber,
      trunk: route.trunk,
      dialer,
      media,
      recorder: this.opts.recorder,
      log,
      now: this.opts.now ?? Date.now,
      infoHandler: () => this.infoHandler,
      onChannel: (c) => this.byChannel.set(c.channel, c),
      onEnded: (c) => this.forget(c),
    });
    this.calls.set(callId, call);
    call.start();
  }

  private forget(c: BridgedCall): void {
    this.calls.delete(c.record.callId);
    if (this.byChannel.get(c.channel) === c) this.byChannel.delete(c.channel);
  }

  routeFor(calledNumber: string): string {
    return this.opts.contactCenterUri.replace('{called}', encodeURIComponent(calledNumber || 's'));
  }

  private async accept(pstn: PstnCall): Promise<void> {
    if (this.draining) {
      this.opts.log.info('inbound call refused: draining', { trunk: pstn.info.trunk });
      await pstn.hangup(34, 'appliance draining');
      return;
    }
    const cardLaw = this.opts.card.info?.law ?? 'ulaw';
    const callId = (this.opts.newCallId ?? randomUUID)();
    const media = await this.opts.media.open({ callId, cardLaw });
    if (pstn.state === 'idle') {
      media.close(); // the caller gave up while media was being opened
      return;
    }
    const call = new Call({
      callId,
      pstn,
      requestUri: this.routeFor(pstn.info.calledNumber),
      callIdHeader: this.opts.callIdHeader,
      sip: this.opts.sip,
      media,
      recorder: this.opts.recorder,
      log: this.opts.log,
      now: this.opts.now ?? Date.now,
      infoHandler: () => this.infoHandler,
      onEnded: (c) => this.forget(c),
    });
    this.calls.set(callId, call);
    this.byChannel.set(call.channel, call);
    call.start();
  }
}
