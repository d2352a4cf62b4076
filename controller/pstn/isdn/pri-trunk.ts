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
import type { SpanCounters, SpanFraming, SpanLineCode } from '../../../hw/link/messages';
import { countersOf, defaultLineConfig, sameSpanState, ZERO_COUNTERS, type SpanLineConfig, type SpanStateBody } from './span-state';
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
  on(event: 'link-down', listener: (reason: string) => void): unknown;
  on(event: 'line', listener: (event: LineEvent) => void): unknown;
  off(event: 'link-up', listener: (info: CardInfo) => void): unknown;
  off(event: 'link-down', listener: (reason: string) => void): unknown;
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
  /**
   * Sends a span-config to the card (SerialCard.configureSpan) at link-up: framing and line coding from
   * `lineConfigFor` (default E1 CRC-4/HDB3, T1 ESF/B8ZS), common channel signaling, clock from the line.
   * Omitted: nothing is sent and span states say `configured: 'not-sent'`.
   */
  configureSpan?: (cfg: { span: number; lineCode: SpanLineCode; framing: SpanFraming; signaling: 'ccs'; clockSource: 'line' }) => Promise<void>;
  lineConfigFor?: (span: SpanInfo) => SpanLineConfig;
}

export interface PriTrunkEvents extends Pick<PriSpanEvents, 'incoming' | 'warning'> {
  dchannel: [span: number, up: boolean];
  /** A span's state changed (alarms, D channel, configuration, counters, channels in use); the whole body. */
  'span-state': [span: number, body: SpanStateBody];
}

interface SpanRecord {
  info: SpanInfo;
  line: SpanLineConfig;
  configured: SpanStateBody['configured'];
  configError?: string;
  alarms: SpanAlarm[];
  counters: SpanStateBody['counters'];
  last?: SpanStateBody;
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
  /**
   * The card link is gone (cable, hang, or a card reset, which drops every call on the card): no D
   * channel and no B channels either, so every span is treated as layer 1 down (calls cleared with 41,
   * channels freed) until the card says hello again.
   */
  private readonly onLinkDown = (): void => {
    for (const [n, s] of this.spans) {
      s.setLayer1(false);
      this.publishState(n);
    }
  };
  private readonly records = new Map<number, SpanRecord>();
  private readonly onLine = (event: LineEvent): void => {
    if (event.kind !== 'span-alarm') return;
    const rec = this.records.get(event.span);
    if (rec) rec.alarms = [...event.alarms];
    this.spans.get(event.span)?.setLayer1(!event.alarms.some((a) => LAYER1_DOWN.includes(a)));
    this.publishState(event.span);
  };
  private dropped = 0;

  constructor(private readonly opts: PriTrunkOptions) {
    super();
  }

  start(): void {
    this.opts.card.on('link-up', this.onLinkUp);
    this.opts.card.on('link-down', this.onLinkDown);
    this.opts.card.on('line', this.onLine);
    if (this.opts.card.info) this.configure(this.opts.card.info);
  }

  stop(): void {
    this.opts.card.off('link-up', this.onLinkUp);
    this.opts.card.off('link-down', this.onLinkDown);
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
      const call = s.placeCall({ called: request.calledNumber, calling: request.callingNumber ?? '', ...(request.callingName !== undefined ? { callingName: request.callingName } : {}) });
      this.watchChannels(s.spanNumber, call);
      return call;
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

  /** The card's counters report (wiring: `card.linkEvents.on('counters', (r) => trunk.receiveCounters(r))`). */
  receiveCounters(report: { spans: SpanCounters[] }): void {
    for (const c of report.spans) {
      const rec = this.records.get(c.span);
      if (!rec) continue;
      rec.counters = countersOf(c);
      this.publishState(c.span);
    }
  }

  /** Every span's state (for `spans/{n}`, health and diagnostics). */
  spanStates(): SpanStateBody[] {
    return [...this.records.keys()].flatMap((n) => {
      const b = this.stateOf(n);
      return b ? [b] : [];
    });
  }

  private stateOf(n: number): SpanStateBody | undefined {
    const rec = this.records.get(n);
    const s = this.spans.get(n);
    if (!rec || !s) return undefined;
    const channels = s.channelStates();
    return {
      span: n,
      type: rec.info.type,
      framing: rec.line.framing,
      lineCoding: rec.line.lineCode,
      configured: rec.configured,
      ...(rec.configError !== undefined ? { configError: rec.configError } : {}),
      alarms: [...rec.alarms],
      layer1Up: !rec.alarms.some((a) => LAYER1_DOWN.includes(a)),
      dchannelUp: s.dchannelUp,
      channels: { total: channels.length, inUse: channels.filter((c) => c.state === 'busy').length, maintenance: channels.filter((c) => c.state === 'maintenance').length },
      counters: { ...rec.counters },
    };
  }

  /** Emits `span-state` when the span's body differs from the last one emitted. */
  private publishState(n: number): void {
    const rec = this.records.get(n);
    const body = this.stateOf(n);
    if (!rec || !body || sameSpanState(rec.last, body)) return;
    rec.last = body;
    this.emit('span-state', n, body);
  }

  get droppedFrames(): number {
    return this.dropped;
  }

  /** Channels in use change with calls: publish at the start and end of each. */
  private watchChannels(span: number, call: PstnCall): void {
    this.publishState(span);
    // The span frees the B channel in its own 'released' handler, after this one: publish once it has.
    call.on('released', () => queueMicrotask(() => this.publishState(span)));
  }

  private sendSpanConfig(n: number): void {
    const rec = this.records.get(n);
    if (!rec || !this.opts.configureSpan) return;
    rec.configured = 'pending';
    delete rec.configError;
    this.opts.configureSpan({ span: n, lineCode: rec.line.lineCode, framing: rec.line.framing, signaling: 'ccs', clockSource: 'line' }).then(
      () => {
        rec.configured = 'accepted';
        this.publishState(n);
      },
      (err: unknown) => {
        rec.configured = 'refused';
        rec.configError = err instanceof Error ? err.message : String(err);
        this.emit('warning', `span ${n}: span-config refused: ${rec.configError}`);
        this.publishState(n);
      },
    );
    this.publishState(n);
  }

  private configure(info: CardInfo): void {
    for (const sp of info.spans) {
      const known = this.spans.get(sp.span);
      if (known) {
        // The card is back: layer 1 up until it reports alarms again.
        const rec = this.records.get(sp.span);
        if (rec) rec.alarms = [];
        known.setLayer1(true);
        continue;
      }
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
      s.on('incoming', (call) => {
        this.emit('incoming', call);
        this.watchChannels(sp.span, call);
      });
      s.on('warning', (m) => this.emit('warning', m));
      s.on('dchannel', (up) => {
        this.emit('dchannel', sp.span, up);
        this.publishState(sp.span);
      });
      this.spans.set(sp.span, s);
      this.records.set(sp.span, { info: { ...sp }, line: this.opts.lineConfigFor?.(sp) ?? defaultLineConfig(sp), configured: 'not-sent', alarms: [], counters: { ...ZERO_COUNTERS } });
      s.start();
    }
    for (const sp of info.spans) this.sendSpanConfig(sp.span);
    this.opts.log.info('PRI trunk configured', { spans: info.spans.map((s) => `${s.span}:${s.type}`) });
  }
}
