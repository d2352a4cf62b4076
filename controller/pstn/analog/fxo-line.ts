/**
 * One analog FXO loop-start line: the state machine between the card's line events and one call.
 *
 *            ring-on                        caller-id or 2nd ring
 *   idle ─────────────▶ ringing ──────────────────────────────▶ offered
 *    ▲                    │ ring timeout (caller gave up)          │ answer()
 *    │                    ▼                                        ▼
 *    │◀──────────────── released ◀──── hangup()/ring timeout ── answering ──hook-state off──▶ connected
 *    │                    ▲                                                                     │
 *    └────────────────────┴──────── loop-current drop / battery reversal / hangup() ◀───────────┘
 *
 * Loop start (ANSI/TIA-968 analog loop start; ETSI ES 201 970 for the CPE side): the line rings
 * with a cadence; caller ID (here: a card-decoded event) arrives between the first and second
 * ring; the FXO answers by drawing loop current (off-hook). The far end's disconnect is seen as a
 * loop-current drop (open switch interval) or a battery reversal, depending on the exchange.
 *
 * The call is offered to the call manager after caller ID or at the second ring, whichever is first,
 * so the SIP INVITE carries the caller's number when the exchange sends one.
 *
 * Outward calls (`dial()`, PstnDialer through fxo-trunk.ts):
 *
 *   idle ─dial()─▶ seizing ─dial tone (or blind delay)─▶ dialing ─digits sent─▶ outgoing ─battery reversal─▶ connected
 *                     │ no dial tone: release 34            │                      │ no answer: 19
 *                     ▼                                     └──── supervision 'none': connected at once ──▶
 *                  releasing ◀── busy tone 17 / reorder 34 (call-progress detector) / loop-current drop / hangup()
 *
 * Seizure: off-hook, then wait for dial tone (dial-tone-detector.ts) when the line's audio is fed in
 * (`audio()`), else dial blind after `blindDialDelayMs`. Digits go as the card's `dial` command (the
 * card generates the DTMF on the line, docs/card-link.md). Answer supervision: with
 * `answerSupervision: 'battery-reversal'` the exchange reverses battery when the callee answers
 * (ETSI ES 201 970 §9, "answer signal"); with 'none' (most residential lines give no answer signal)
 * the call counts as answered as soon as dialling is done, and a busy or reorder cadence heard
 * afterwards still clears it with 17 / 34 rather than 16 — the far end never answered.
 */
import type { Clock, TimerHandle } from '../../../hw/base/clock';
import { TonewallError } from '../../../hw/base/errors';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { HookCommand, LineEvent } from '../../../hw/card/types';
import { CallProgressDetector, type CadenceKind } from '../../dsp/call-progress-detector';
import type { OutboundCallRequest, PstnCall, PstnCallEvents, PstnCallInfo, PstnRelease } from '../types';
import { DialToneDetector } from './dial-tone-detector';
import { CallerIdReceiver } from '../../dsp/caller-id-receiver';
import type { CallerId } from '../../dsp/caller-id-message';
import type { FskStandard } from '../../dsp/fsk-demodulator';

export type FxoState = 'idle' | 'ringing' | 'offered' | 'answering' | 'connected' | 'releasing' | 'seizing' | 'dialing' | 'outgoing';

/** How the exchange signals that the called party answered an outward call. */
export type AnswerSupervision = 'battery-reversal' | 'none';

/** The one transition table: from → allowed next states. */
const TRANSITIONS: Record<FxoState, readonly FxoState[]> = {
  idle: ['ringing', 'seizing'],
  seizing: ['dialing', 'releasing'],
  dialing: ['outgoing', 'connected', 'releasing'],
  outgoing: ['connected', 'releasing'],
  ringing: ['offered', 'idle'],
  offered: ['answering', 'releasing', 'idle'],
  answering: ['connected', 'releasing'],
  connected: ['releasing'],
  releasing: ['idle'],
};

export interface FxoLineOptions {
  port: number;
  channel: number;
  /** The number this line represents (analog lines carry no called number). */
  lineNumber: string;
  /** No ring-on for this long while ringing means the caller gave up (longest cadence gap + margin). */
  ringTimeoutMs: number;
  clock: Clock;
  /** Sends a hook command to the card; resolves on the card's acknowledgement. */
  sendCommand: (cmd: HookCommand) => Promise<void>;
  /** Called once per inbound call, at offer time. */
  onOffer: (call: PstnCall) => void;
  /** Outward calls: the exchange's answer signal (default 'none'). */
  answerSupervision?: AnswerSupervision;
  /** Whether the line's audio is fed through `audio()`; without it dial tone and busy go unheard. */
  hearsAudio?: boolean;
  /** Longest wait for dial tone after seizure, ms (default 3000); none → release 34. */
  dialToneTimeoutMs?: number;
  /** Wait after seizure before dialling blind when the line's audio is not fed, ms (default 2000). */
  blindDialDelayMs?: number;
  /** Reversal supervision: no answer within this long → release 19, ms (default 60000). */
  noAnswerTimeoutMs?: number;
  /**
   * Caller ID in the line's audio (needs `hearsAudio`): the FSK standard of the exchange (Bell 202
   * or V.23); DTMF caller ID is listened for too. Omitted: only card-decoded caller-id events.
   */
  callerIdFsk?: FskStandard;
}

/** Caller ID decoded before the first ring (ETSI) is kept this long waiting for the ring, ms. */
const PENDING_CALLER_ID_MS = 8000;

/** The PstnCall handed to the call manager: a view onto the line for one call. */
class FxoCall extends TypedEmitter<PstnCallEvents> implements PstnCall {
  constructor(
    private readonly line: FxoLine,
    readonly info: PstnCallInfo,
  ) {
    super();
  }
  get state(): string {
    return this.line.state;
  }
  answer(): Promise<void> {
    return this.line.answer(this);
  }
  hangup(q850: number, reason: string): Promise<void> {
    return this.line.hangup(this, q850, reason);
  }
}

export class FxoLine {
  private stateValue: FxoState = 'idle';
  private ringTimer: TimerHandle | undefined;
  private rings = 0;
  private callerNumber = '';
  private callerName = '';
  private call: FxoCall | undefined;
  /** The current call is one we dialled. */
  private outward = false;
  /** Outward: the exchange said the callee answered (battery reversal). */
  private answerConfirmed = false;
  private digits = '';
  private outTimer: TimerHandle | undefined;
  private dialTone: DialToneDetector | undefined;
  private cadence: CallProgressDetector | undefined;

  private readonly callerIdRx: CallerIdReceiver | undefined;
  /** Caller ID heard while idle (ETSI: before the first ring), with when it was heard. */
  private pendingCallerId: { number: string; name: string; atMs: number } | undefined;

  constructor(private readonly opts: FxoLineOptions) {
    if (opts.hearsAudio && opts.callerIdFsk) {
      this.callerIdRx = new CallerIdReceiver({ fsk: opts.callerIdFsk, onCallerId: (id) => this.onAudioCallerId(id) });
    }
  }

  /** Caller ID messages from the audio that failed their checks (bad checksum, framing). */
  get callerIdErrors(): number {
    return this.callerIdRx?.errors ?? 0;
  }

  get isIdle(): boolean {
    return this.stateValue === 'idle';
  }

  get channel(): number {
    return this.opts.channel;
  }

  get state(): FxoState {
    return this.stateValue;
  }

  get port(): number {
    return this.opts.port;
  }

  /** Feeds one line event for this port. */
  handle(event: LineEvent): void {
    switch (event.kind) {
      case 'ring-on':
        this.onRing();
        return;
      case 'ring-off':
        return; // the cadence's silent part: nothing to do, the ring timer watches for abandonment
      case 'caller-id':
        if (this.stateValue === 'ringing') {
          this.callerNumber = event.number;
          this.callerName = event.name;
          this.offer();
        }
        return;
      case 'hook-state':
        if (event.offHook && this.stateValue === 'answering') {
          this.transition('connected');
          this.call?.emit('answered');
        }
        return;
      case 'loop-current':
        if (!event.present) this.farEndDisconnect('loop current dropped');
        return;
      case 'battery-reversal':
        if (this.outward && this.stateValue === 'outgoing') return this.farEndAnswered();
        this.farEndDisconnect('battery reversal');
        return;
      case 'span-alarm':
        return;
    }
  }

  /** The card link went down: whatever the line was doing is over. */
  linkDown(): void {
    if (this.stateValue === 'idle') return;
    void this.release({ by: 'local', q850: 41, reason: 'card link down' }, false);
  }

  /**
   * Places an outward call on this idle line (see the header): returns at once; the call reports
   * `progress`, `answered` and `released`. Throws EPSTN_STATE when the line is not idle.
   */
  dial(request: OutboundCallRequest): PstnCall {
    if (this.stateValue !== 'idle') throw new TonewallError('EPSTN_STATE', `FXO port ${this.opts.port} is ${this.stateValue}, not idle`);
    this.transition('seizing');
    this.outward = true;
    this.answerConfirmed = false;
    this.digits = request.calledNumber;
    const call = new FxoCall(this, {
      trunk: `port/${this.opts.port}`,
      port: this.opts.port,
      channel: this.opts.channel,
      callerNumber: request.callingNumber ?? this.opts.lineNumber,
      callerName: request.callingName ?? '',
      calledNumber: request.calledNumber,
    });
    this.call = call;
    this.cadence = new CallProgressDetector((e) => this.onCadence(e.kind));
    if (this.opts.hearsAudio) {
      this.dialTone = new DialToneDetector();
      this.armOutTimer(this.opts.dialToneTimeoutMs ?? 3000, () => void this.release({ by: 'local', q850: 34, reason: 'no dial tone after seizure' }, true));
    } else {
      this.armOutTimer(this.opts.blindDialDelayMs ?? 2000, () => this.startDialing());
    }
    this.opts.sendCommand({ kind: 'off-hook', port: this.opts.port }).catch(() => {
      if (this.call === call) void this.release({ by: 'local', q850: 41, reason: 'seizure (off-hook) not confirmed by the card' }, false);
    });
    return call;
  }

  /** Linear audio heard on the line (8 kHz), for dial tone and busy/reorder detection on outward calls. */
  audio(samples: Int16Array): void {
    if (!this.outward) {
      if (this.stateValue === 'idle' || this.stateValue === 'ringing') this.callerIdRx?.process(samples);
      return;
    }
    if (this.stateValue === 'seizing') {
      if (this.dialTone?.process(samples)) this.startDialing();
    } else if (this.stateValue === 'dialing' || this.stateValue === 'outgoing' || this.stateValue === 'connected') {
      this.cadence?.process(samples);
    }
  }

  answer(call: FxoCall): Promise<void> {
    if (call === this.call && this.outward) return Promise.resolve();
    if (call !== this.call || this.stateValue !== 'offered') {
      return Promise.reject(new TonewallError('EPSTN_STATE', `cannot answer port ${this.opts.port} in state ${this.stateValue}`));
    }
    this.cancelRingTimer();
    this.transition('answering');
    return this.opts.sendCommand({ kind: 'off-hook', port: this.opts.port });
  }

  async hangup(call: FxoCall, q850: number, reason: string): Promise<void> {
    if (call !== this.call || this.stateValue === 'idle' || this.stateValue === 'releasing') return;
    const offHook = this.stateValue !== 'ringing' && this.stateValue !== 'offered';
    await this.release({ by: 'local', q850, reason }, offHook);
  }

  private startDialing(): void {
    if (this.stateValue !== 'seizing') return;
    this.cancelOutTimer();
    this.dialTone = undefined;
    this.transition('dialing');
    const call = this.call;
    this.opts.sendCommand({ kind: 'dial', port: this.opts.port, digits: this.digits }).then(
      () => {
        if (this.call === call) this.dialled();
      },
      () => {
        if (this.call === call) void this.release({ by: 'local', q850: 41, reason: 'dialling not confirmed by the card' }, true);
      },
    );
  }

  /** Digits are out: ringback (or whatever the exchange plays) is in band from now on. */
  private dialled(): void {
    if (this.stateValue !== 'dialing') return;
    if ((this.opts.answerSupervision ?? 'none') === 'battery-reversal') {
      this.transition('outgoing');
      this.call?.emit('progress', 'progress', true);
      this.armOutTimer(this.opts.noAnswerTimeoutMs ?? 60_000, () => void this.release({ by: 'pstn', q850: 19, reason: 'no answer (no battery reversal)' }, true));
      return;
    }
    // No answer signal on this line: treat it as answered once dialling is done.
    this.transition('connected');
    this.call?.emit('progress', 'progress', true);
    this.call?.emit('answered');
  }

  private farEndAnswered(): void {
    this.cancelOutTimer();
    this.answerConfirmed = true;
    this.transition('connected');
    this.call?.emit('answered');
  }

  /** Busy → 17, reorder → 34 while the callee never answered; after a confirmed answer: 16. */
  private onCadence(kind: CadenceKind): void {
    if (!this.outward || (this.stateValue !== 'dialing' && this.stateValue !== 'outgoing' && this.stateValue !== 'connected')) return;
    const q850 = this.answerConfirmed ? 16 : kind === 'busy' ? 17 : 34;
    void this.release({ by: 'pstn', q850, reason: `${kind} tone on the line` }, true);
  }

  private armOutTimer(ms: number, fn: () => void): void {
    this.cancelOutTimer();
    this.outTimer = this.opts.clock.setTimeout(() => {
      this.outTimer = undefined;
      fn();
    }, ms);
  }

  private cancelOutTimer(): void {
    this.outTimer?.cancel();
    this.outTimer = undefined;
  }

  /** Caller ID from the audio: offered like a card-decoded one; while idle it waits for the first ring. */
  private onAudioCallerId(id: CallerId): void {
    const number = id.number ?? '';
    const name = id.name ?? '';
    if (this.stateValue === 'ringing') {
      this.callerNumber = number;
      this.callerName = name;
      this.offer();
    } else if (this.stateValue === 'idle') {
      this.pendingCallerId = { number, name, atMs: this.opts.clock.monotonicMs() };
    }
  }

  private onRing(): void {
    if (this.stateValue === 'idle') {
      this.transition('ringing');
      this.rings = 0;
      this.callerNumber = '';
      this.callerName = '';
      const pending = this.pendingCallerId;
      this.pendingCallerId = undefined;
      if (pending && this.opts.clock.monotonicMs() - pending.atMs <= PENDING_CALLER_ID_MS) {
        // ETSI EN 300 659-1 §6.1: the data came before the first ring; offer with it at once.
        this.callerNumber = pending.number;
        this.callerName = pending.name;
        this.rings = 1;
        this.armRingTimer();
        this.offer();
        return;
      }
    }
    if (this.stateValue !== 'ringing' && this.stateValue !== 'offered') return;
    this.rings++;
    this.armRingTimer();
    if (this.stateValue === 'ringing' && this.rings >= 2) this.offer();
  }

  private offer(): void {
    if (this.stateValue !== 'ringing') return;
    this.transition('offered');
    const info: PstnCallInfo = {
      trunk: `port/${this.opts.port}`,
      port: this.opts.port,
      channel: this.opts.channel,
      callerNumber: this.callerNumber,
      callerName: this.callerName,
      calledNumber: this.opts.lineNumber,
    };
    this.call = new FxoCall(this, info);
    this.opts.onOffer(this.call);
  }

  private farEndDisconnect(reason: string): void {
    const outwardUp = this.outward && (this.stateValue === 'dialing' || this.stateValue === 'outgoing');
    if (this.stateValue !== 'answering' && this.stateValue !== 'connected' && !outwardUp) return;
    void this.release({ by: 'pstn', q850: 16, reason }, true);
  }

  private armRingTimer(): void {
    this.cancelRingTimer();
    this.ringTimer = this.opts.clock.setTimeout(() => {
      this.ringTimer = undefined;
      if (this.stateValue === 'ringing') {
        this.transition('idle');
      } else if (this.stateValue === 'offered') {
        void this.release({ by: 'pstn', q850: 16, reason: 'caller hung up while ringing' }, false);
      }
    }, this.opts.ringTimeoutMs);
  }

  private cancelRingTimer(): void {
    this.ringTimer?.cancel();
    this.ringTimer = undefined;
  }

  private async release(release: PstnRelease, onHook: boolean): Promise<void> {
    if (this.stateValue === 'releasing' || this.stateValue === 'idle') return;
    this.cancelRingTimer();
    this.cancelOutTimer();
    this.outward = false;
    this.dialTone = undefined;
    this.cadence = undefined;
    this.transition('releasing');
    const call = this.call;
    this.call = undefined;
    try {
      if (onHook) await this.opts.sendCommand({ kind: 'on-hook', port: this.opts.port });
    } finally {
      this.transition('idle');
      call?.emit('released', release);
    }
  }

  private transition(to: FxoState): void {
    const from = this.stateValue;
    if (!TRANSITIONS[from].includes(to)) {
      throw new TonewallError('EPSTN_TRANSITION', `FXO port ${this.opts.port}: illegal transition ${from} → ${to}`);
    }
    this.stateValue = to;
  }
}
