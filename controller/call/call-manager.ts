/**
 * The call manager: the only part that knows both the PSTN and SIP (DESIGN.md §3). It takes
 * inbound PSTN calls, routes the called number to a SIP URI, opens media, and moves 10 ms PCM
 * chunks between the card and each call's media at the card's clock.
 */
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { TelephonyCard } from '../../hw/card/types';
import type { PstnCall, PstnTrunkEvents } from '../pstn/types';
import type { TypedEmitter } from '../../hw/base/typed-emitter';
import { Call, type CallRecorder } from './call';
import type { MediaFactory, SipDialer } from './ports';

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
}

export class CallManager {
  private readonly calls = new Map<string, Call>();
  private readonly byChannel = new Map<number, Call>();
  private draining = false;
  private readonly onIncoming = (pstn: PstnCall): void => {
    this.accept(pstn).catch((err: unknown) => {
      this.opts.log.error('inbound call failed to start', { trunk: pstn.info.trunk, err: errorMessage(err) });
      void pstn.hangup(41, 'call setup failed');
    });
  };
  private readonly onPcm = (channel: number, data: Buffer): void => {
    const call = this.byChannel.get(channel);
    if (!call || call.state !== 'active') return;
    call.media.fromCard(data);
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

  list(): Call[] {
    return [...this.calls.values()];
  }

  get(callId: string): Call | undefined {
    return this.calls.get(callId);
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
      onEnded: (c) => {
        this.calls.delete(c.record.callId);
        if (this.byChannel.get(c.channel) === c) this.byChannel.delete(c.channel);
      },
    });
    this.calls.set(callId, call);
    this.byChannel.set(call.channel, call);
    call.start();
  }
}
