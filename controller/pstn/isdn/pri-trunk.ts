/**
 * The ISDN PRI trunk: one PriSpan (user side) per E1/T1 span the card reports in its hello, fed with
 * the card's D-channel frames, offering inbound calls (`incoming`) to the call manager like the
 * analog trunk does, and placing outbound calls on the first span whose D channel is up.
 *
 * Wiring (composition root): `card.linkEvents.on('dchan', (span, data) => trunk.receiveDchan(span, data))`
 * and `sendDchan: (span, data) => card.sendDchan(span, data)`. D-channel frames are whole LAPD frames
 * without flags and FCS (docs/card-link.md §4.7). E1 spans run ETSI, T1 spans NI-2, unless told.
 */
import type { Clock } from '../../../hw/base/clock';
import type { Logger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { CardInfo, LineEvent, SpanAlarm, SpanInfo } from '../../../hw/card/types';
import { TonewallError } from '../../../hw/base/errors';
import { PriSpan } from './pri-span';
import { FailedCall, unplacedInfo } from '../failed-call';
import { checkOutboundRequest } from '../outbound-request';
import type { OutboundCallRequest, PstnCall, PstnDialer } from '../types';
import type { PriSpanEvents } from './pri-span';
import { SWITCH_VARIANTS, type SwitchVariant } from './switch-variant';

/** What the trunk needs of the card driver (TelephonyCard satisfies it): its hello and link-up. */
export interface PriCardView {
  readonly info: CardInfo | undefined;
  on(event: 'link-up', listener: (info: CardInfo) => void): unknown;
  on(event: 'line', listener: (event: LineEvent) => void): unknown;
  off(event: 'link-up', listener: (info: CardInfo) => void): unknown;
  off(event: 'line', listener: (event: LineEvent) => void): unknown;
}

/** Alarms that mean the span carries no frames, so no D channel (RAI alone does not: our receive side is fine). */
const LAYER1_DOWN: readonly SpanAlarm[] = ['LOS', 'LOF', 'AIS'];

export interface PriTrunkOptions {
  card: PriCardView;
  /** Sends one D-channel frame to a span; false when the card link is down (the frame is lost, LAPD recovers). */
  sendDchan: (span: number, data: Uint8Array) => boolean;
  clock: Clock;
  log: Logger;
  /** Switch variant per span; default E1 → ETSI, T1 → NI-2. */
  variantFor?: (span: SpanInfo) => SwitchVariant;
}

export interface PriTrunkEvents extends Pick<PriSpanEvents, 'incoming' | 'warning'> {
  dchannel: [span: number, up: boolean];
}

/**
 * TDM channel of a B channel: E1 timeslots 1..15 and 17..31 map onto the span's 30 bearer channels
 * in order (timeslot 16 is the D channel); T1 channels 1..23 map one to one.
 */
export function tdmChannelOf(span: SpanInfo, bChannel: number): number {
  const index = span.type === 'E1' ? (bChannel < 16 ? bChannel - 1 : bChannel - 2) : bChannel - 1;
  return span.firstChannel + index;
}

export class PriTrunk extends TypedEmitter<PriTrunkEvents> implements PstnDialer {
  private readonly spans = new Map<number, PriSpan>();
  private readonly onLinkUp = (info: CardInfo): void => this.configure(info);
  private readonly onLine = (event: LineEvent): void => {
    if (event.kind !== 'span-alarm') return;
    this.spans.get(event.span)?.setLayer1(!event.alarms.some((a) => LAYER1_DOWN.includes(a)));
  };
  private dropped = 0;

  constructor(private readonly opts: PriTrunkOptions) {
    super();
  }

  start(): void {
    this.opts.card.on('link-up', this.onLinkUp);
    this.opts.card.on('line', this.onLine);
    if (this.opts.card.info) this.configure(this.opts.card.info);
  }

  stop(): void {
    this.opts.card.off('link-up', this.onLinkUp);
    this.opts.card.off('line', this.onLine);
    for (const s of this.spans.values()) s.stop();
  }

  /** One D-channel frame from the card. Frames for a span we do not run are counted and dropped. */
  receiveDchan(span: number, data: Uint8Array): void {
    const s = this.spans.get(span);
    if (!s) {
      this.dropped++;
      this.emit('warning', `D-channel frame for span ${span}, which is not a configured PRI span`);
      return;
    }
    s.receiveFrame(data);
  }

  /**
   * PstnDialer: places an outward call. `request.trunk` `span/N` names the span; otherwise the spans
   * are tried in order (lowest number first) among those whose D channel is up, the first with an idle
   * B channel (preferred, not exclusive: the network may move it, Q.931 §5.1.2) takes it. No span up:
   * a call released with 41 (temporary failure); no idle channel: 34 (no circuit/channel available).
   * Throws only for a malformed request (outbound-request.ts).
   */
  placeCall(request: OutboundCallRequest): PstnCall {
    const name = checkOutboundRequest(request);
    if (name && name.kind !== 'span') throw new TonewallError('EPSTN_REQUEST', `trunk ${request.trunk ?? ''} is not a PRI span (expected span/N)`);
    const failed = (q850: number, reason: string): PstnCall =>
      new FailedCall(unplacedInfo(request.trunk ?? 'span/any', request.calledNumber, request.callingNumber, request.callingName), q850, reason);
    const candidates = name ? [this.spans.get(name.n)].filter((s): s is PriSpan => s !== undefined) : [...this.spans.values()];
    if (name && candidates.length === 0) return failed(34, `span ${name.n} is not a configured PRI span`);
    const up = candidates.filter((s) => s.dchannelUp);
    if (up.length === 0) return failed(41, `no D channel up (spans: ${candidates.map((s) => s.spanNumber).join(', ') || 'none'})`);
    for (const s of up) {
      if (!s.channelStates().some((c) => c.state === 'idle')) continue;
      return s.placeCall({ called: request.calledNumber, calling: request.callingNumber ?? '', ...(request.callingName !== undefined ? { callingName: request.callingName } : {}) });
    }
    return failed(34, 'no idle B channel on any span with its D channel up');
  }

  /** Whether an outward call could start now (a span with its D channel up and an idle B channel). */
  available(): boolean {
    return [...this.spans.values()].some((s) => s.dchannelUp && s.channelStates().some((c) => c.state === 'idle'));
  }

  span(n: number): PriSpan | undefined {
    return this.spans.get(n);
  }

  /** For the `spans/{n}` topic and health. */
  status(): { span: number; dchannelUp: boolean; channels: ReturnType<PriSpan['channelStates']>; counters: PriSpan['counters'] }[] {
    return [...this.spans].map(([span, s]) => ({ span, dchannelUp: s.dchannelUp, channels: s.channelStates(), counters: s.counters }));
  }

  get droppedFrames(): number {
    return this.dropped;
  }

  private configure(info: CardInfo): void {
    for (const sp of info.spans) {
      if (this.spans.has(sp.span)) continue;
      const variant = this.opts.variantFor?.(sp) ?? (sp.type === 'E1' ? SWITCH_VARIANTS.etsi : SWITCH_VARIANTS.ni2);
      const s = new PriSpan({
        span: sp.span,
        side: 'user',
        variant,
        clock: this.opts.clock,
        log: this.opts.log,
        sendFrame: (f) => void this.opts.sendDchan(sp.span, f),
        toTdmChannel: (b) => tdmChannelOf(sp, b),
      });
      s.on('incoming', (call) => this.emit('incoming', call));
      s.on('warning', (m) => this.emit('warning', m));
      s.on('dchannel', (up) => this.emit('dchannel', sp.span, up));
      this.spans.set(sp.span, s);
      s.start();
    }
    this.opts.log.info('PRI trunk configured', { spans: info.spans.map((s) => `${s.span}:${s.type}`) });
  }
}
