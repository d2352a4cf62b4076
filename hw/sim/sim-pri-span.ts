/**
 * One ISDN PRI span of the simulated card, playing the NETWORK side: our own Q.931/Q.921 network
 * side (controller/pstn/isdn PriSpan, side 'network') on the span's D-channel frames, and the far
 * ends of the calls on its B channels with the same scripted-caller machinery as the analog lines
 * (pstn-call.ts: speech, keys, hang-up), minus the analog signaling (ring and loop events are dropped).
 *
 *   scripted caller:  SETUP (exclusive channel, calling/called numbers) ─ host CONNECT ─▶ audio ─▶
 *                     caller done: DISCONNECT cause 16 (normal clearing) ─▶ released
 *   host SETUP:       CALL PROCEEDING + ALERTING, ringback in band, CONNECT after the callee's
 *                     answerAfterMs, the callee's audio; the host's DISCONNECT ends it
 *
 * Audio: one 80-byte chunk per TDM tick (10 ms) on the call's TDM channel (pri-trunk.ts tdmChannelOf:
 * E1 timeslots 1..15, 17..31 → span channels 1..30), companded in the span's law.
 * Layer 1: `setLayer1(false)` (LOS) drops D-channel frames both ways and releases the data link.
 */
import type { CompandingLaw } from '../../controller/media/g711';
import { PriSpan } from '../../controller/pstn/isdn/pri-span';
import type { PriCall } from '../../controller/pstn/isdn/pri-call';
import type { PriModel } from './sim-pri-models';
import { tdmChannelOf } from '../../controller/pstn/isdn/pri-trunk';
import { SWITCH_VARIANTS, type SwitchVariant } from '../../controller/pstn/isdn/switch-variant';
import type { Clock } from '../base/clock';
import { errorMessage } from '../base/errors';
import type { Logger } from '../base/logger';
import type { SpanInfo } from '../card/types';
import type { PcmChunk } from '../link/messages';
import type { CallScript } from './call-script';
import { PlayoutBuffer } from './playout-buffer';
import { calleeFor, PstnCall, SAMPLES_PER_TICK, type CalleeScript, type PstnCallState } from './pstn-call';
import { SeededRandom } from './seeded-random';

/** Q.850 normal call clearing: the cause of every clearing the simulated network starts. */
export const CAUSE_NORMAL_CLEARING = 16;
/** Q.850 user busy: a SETUP toward a busy scripted callee. */
export const CAUSE_USER_BUSY = 17;

/** Playout buffer toward each B channel's far end: 250 ms of audio. */
const PLAYOUT_MAX_BYTES = 2000;

export interface SimPriSpanOptions {
  span: SpanInfo;
  variant: SwitchVariant;
  law: CompandingLaw;
  clock: Clock;
  log: Logger;
  /** One D-channel frame toward the host (dropped by the card while its link is not ready). */
  sendFrame: (frame: Buffer) => void;
  callee?: CalleeScript;
  /** Callees by called number; others get `callee`. */
  callees?: Readonly<Record<string, CalleeScript>>;
  seed: number;
  loadWav: (path: string) => Int16Array;
  onCallState: (call: PstnCall, state: PstnCallState) => void;
  /** The network side's data link came up or went down. */
  onDchannel?: (up: boolean) => void;
  /** Passed to PriSpan (tests shorten LAPD timers and the establish retry). */
  establishRetryMs?: number;
}

export interface PriSpansOptions extends Omit<SimPriSpanOptions, 'span' | 'variant' | 'sendFrame' | 'onDchannel'> {
  sendFrame: (span: number, frame: Buffer) => void;
  onDchannel: (span: number, up: boolean) => void;
}

/** The network spans of a PRI model (none for the analog card); each span's seed differs. */
export function buildPriSpans(model: PriModel | undefined, o: PriSpansOptions): SimPriSpan[] {
  return (model?.spans ?? []).map(
    (span) =>
      new SimPriSpan({
        ...o,
        span,
        variant: model?.variant ?? SWITCH_VARIANTS.etsi,
        seed: o.seed + 31 * span.span,
        sendFrame: (f) => o.sendFrame(span.span, f),
        onDchannel: (up) => o.onDchannel(span.span, up),
      }),
  );
}

/** The span whose bearer channels include a TDM channel. */
export function spanOfChannel(spans: ReadonlyMap<number, SimPriSpan>, channel: number): SimPriSpan | undefined {
  for (const s of spans.values()) if (channel >= s.info.firstChannel && channel < s.info.firstChannel + s.info.channels) return s;
  return undefined;
}

interface Leg {
  call: PstnCall;
  pri: PriCall;
  playout: PlayoutBuffer;
}

export class SimPriSpan {
  private priSpan: PriSpan;
  private readonly legs = new Set<Leg>();
  private layer1 = true;
  private dchannelCut = false;
  private nextCallId = 1;
  /** Host PCM for a channel with no connected call (counted, dropped). */
  hostPcmDropped = 0;

  constructor(private readonly opts: SimPriSpanOptions) {
    this.priSpan = this.makeSpan();
  }

  get info(): SpanInfo {
    return { ...this.opts.span };
  }

  get dchannelUp(): boolean {
    return this.priSpan.dchannelUp;
  }

  get layer1Up(): boolean {
    return this.layer1;
  }

  /** The network-side PriSpan (for tests: restart, counters, channel states). */
  get network(): PriSpan {
    return this.priSpan;
  }

  /** Whether a scripted call can start now: D channel up and a B channel free. */
  get canPlaceCall(): boolean {
    return this.priSpan.dchannelUp && this.priSpan.channelStates().some((c) => c.state === 'idle');
  }

  get playoutCounters(): { overruns: number; underruns: number } {
    let overruns = 0;
    let underruns = 0;
    for (const l of this.legs) {
      overruns += l.playout.overruns;
      underruns += l.playout.underruns;
    }
    return { overruns, underruns };
  }

  start(): void {
    this.priSpan.start();
  }

  stop(): void {
    this.priSpan.stop();
    for (const l of [...this.legs]) this.endLeg(l, () => l.call.reset());
  }

  /** Card reset: every call dropped, the D channel starts over. */
  reset(): void {
    this.stop();
    this.priSpan = this.makeSpan();
    this.priSpan.start();
  }

  /** One D-channel frame from the host; ignored while layer 1 is down or the D channel is cut. */
  receiveFrame(frame: Uint8Array): void {
    if (this.layer1 && !this.dchannelCut) this.priSpan.receiveFrame(frame);
  }

  /**
   * D-channel loss (fault injection): frames are dropped both ways while layer 1 stays up, so no alarm
   * tells the host; its LAPD notices by T203/T200 timeouts (Q.921 §5.6) and keeps re-establishing.
   */
  setDchannelCut(cut: boolean): void {
    this.dchannelCut = cut;
  }

  /** Error counts the card reports for this span (fault injection adds to them). */
  readonly errorCounters = { slips: 0, crcErrors: 0, framingErrors: 0, lineCodeViolations: 0 };

  /** LOS injected (false) or cleared (true). */
  setLayer1(up: boolean): void {
    this.layer1 = up;
    this.priSpan.setLayer1(up);
  }

  /** The TDM channel a call's audio travels on. */
  channelOf(call: PstnCall): number | undefined {
    for (const l of this.legs) if (l.call === call) return l.pri.info.channel;
    return undefined;
  }

  /** Places a scripted call from the network (SETUP, exclusive channel); undefined when none can start. */
  placeCall(script: CallScript): PstnCall | undefined {
    if (!this.canPlaceCall) return undefined;
    let pri: PriCall;
    try {
      pri = this.priSpan.placeCall({ called: script.called ?? '', calling: script.callerNumber, callingName: script.callerName });
    } catch (err) {
      this.opts.log.warn('scripted PRI call not placed', { span: this.opts.span.span, error: errorMessage(err) });
      return undefined;
    }
    const id = this.nextCallId++;
    const leg = this.addLeg(pri, 'inbound', script, new SeededRandom(script.seed ?? this.opts.seed + 7919 * id), id);
    // The host answered: the caller's audio starts.
    pri.on('answered', () => leg.call.hostOffHook());
    return leg.call;
  }

  /** One TDM tick of every call: one chunk per B channel that carries audio. */
  tick(): PcmChunk[] {
    const chunks: PcmChunk[] = [];
    for (const l of [...this.legs]) {
      if (l.call.state === 'connected') {
        const played = l.playout.take(SAMPLES_PER_TICK);
        if (played) l.call.hostPcm(played);
      }
      const r = l.call.tick();
      if (r.pcm) chunks.push({ channel: l.pri.info.channel, data: Buffer.from(r.pcm) });
    }
    return chunks;
  }

  /** Host audio for a TDM channel, queued for playout; false when dropped. */
  hostPcm(channel: number, data: Uint8Array): boolean {
    for (const l of this.legs) {
      if (l.pri.info.channel === channel && l.call.state === 'connected') return l.playout.push(data);
    }
    this.hostPcmDropped++;
    return false;
  }

  private makeSpan(): PriSpan {
    const span = new PriSpan({
      span: this.opts.span.span,
      side: 'network',
      variant: this.opts.variant,
      clock: this.opts.clock,
      log: this.opts.log,
      sendFrame: (f) => {
        if (this.layer1 && !this.dchannelCut) this.opts.sendFrame(f);
      },
      toTdmChannel: (b) => tdmChannelOf(this.opts.span, b),
      ...(this.opts.establishRetryMs !== undefined ? { establishRetryMs: this.opts.establishRetryMs } : {}),
    });
    span.on('incoming', (call) => this.onHostSetup(call as PriCall));
    span.on('dchannel', (up) => this.opts.onDchannel?.(up));
    span.on('warning', (m) => this.opts.log.warn('network side warning', { span: this.opts.span.span, message: m }));
    return span;
  }

  /** The host placed a call: the scripted callee answers it. */
  private onHostSetup(pri: PriCall): void {
    const callee = calleeFor(pri.info.calledNumber, this.opts.callees, this.opts.callee);
    if (callee.busy) {
      this.opts.log.info('host call to a busy callee', { span: this.opts.span.span });
      void pri.hangup(CAUSE_USER_BUSY, 'callee busy');
      return;
    }
    const id = this.nextCallId++;
    const leg = this.addLeg(pri, 'outbound', undefined, new SeededRandom(this.opts.seed + 104729 * id), id, callee);
    this.opts.log.info('host call offered', { span: this.opts.span.span, callId: leg.call.id, channel: pri.info.channel });
  }

  private addLeg(pri: PriCall, direction: 'inbound' | 'outbound', script: CallScript | undefined, rng: SeededRandom, id: number, callee?: CalleeScript): Leg {
    const call: PstnCall = new PstnCall({
      id,
      port: this.opts.span.span,
      direction,
      ...(script ? { script } : {}),
      ...(callee ? { callee, dialled: pri.info.calledNumber } : {}),
      supervision: 'loop-current-drop',
      law: this.opts.law,
      rng,
      loadWav: this.opts.loadWav,
      onState: (c, state) => {
        const leg = [...this.legs].find((l) => l.call === c);
        if (leg) this.onLegState(leg, state);
        this.opts.onCallState(c, state);
      },
    });
    const leg: Leg = { call, pri, playout: new PlayoutBuffer(PLAYOUT_MAX_BYTES) };
    this.legs.add(leg);
    pri.on('released', () => this.endLeg(leg, () => leg.call.hostOnHook()));
    this.opts.onCallState(call, call.state);
    return leg;
  }

  private onLegState(leg: Leg, state: PstnCallState): void {
    if (state === 'connected' && leg.call.direction === 'outbound') {
      leg.pri.answer().catch((err: unknown) => this.opts.log.info('callee answer failed', { callId: leg.call.id, error: errorMessage(err) }));
    } else if (state === 'caller-gone' || (state === 'ended' && leg.call.endReason === 'no-answer')) {
      // The far end hangs up (or gives up ringing): DISCONNECT toward the host.
      void leg.pri.hangup(CAUSE_NORMAL_CLEARING, 'far end hung up');
    }
  }

  private endLeg(leg: Leg, how: () => void): void {
    if (!this.legs.has(leg)) return;
    this.legs.delete(leg);
    leg.playout.clear();
    how();
  }
}
