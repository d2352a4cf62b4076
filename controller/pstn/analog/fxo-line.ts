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
 */
import type { Clock, TimerHandle } from '../../../hw/base/clock';
import { TonewallError } from '../../../hw/base/errors';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { HookCommand, LineEvent } from '../../../hw/card/types';
import type { PstnCall, PstnCallEvents, PstnCallInfo, PstnRelease } from '../types';

export type FxoState = 'idle' | 'ringing' | 'offered' | 'answering' | 'connected' | 'releasing';

/** The one transition table: from → allowed next states. */
const TRANSITIONS: Record<FxoState, readonly FxoState[]> = {
  idle: ['ringing'],
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
}

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

  constructor(private readonly opts: FxoLineOptions) {}

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

  answer(call: FxoCall): Promise<void> {
    if (call !== this.call || this.stateValue !== 'offered') {
      return Promise.reject(new TonewallError('EPSTN_STATE', `cannot answer port ${this.opts.port} in state ${this.stateValue}`));
    }
    this.cancelRingTimer();
    this.transition('answering');
    return this.opts.sendCommand({ kind: 'off-hook', port: this.opts.port });
  }

  async hangup(call: FxoCall, q850: number, reason: string): Promise<void> {
    if (call !== this.call || this.stateValue === 'idle' || this.stateValue === 'releasing') return;
    const offHook = this.stateValue === 'answering' || this.stateValue === 'connected';
    await this.release({ by: 'local', q850, reason }, offHook);
  }

  private onRing(): void {
    if (this.stateValue === 'idle') {
      this.transition('ringing');
      this.rings = 0;
      this.callerNumber = '';
      this.callerName = '';
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
    if (this.stateValue !== 'answering' && this.stateValue !== 'connected') return;
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
    this.cancelRingTimer();
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
