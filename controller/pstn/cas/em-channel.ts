/**
 * One T1 robbed-bit E&M channel (Telcordia GR-506 §§ E&M signaling, TIA-464 trunk signaling): the
 * signaling state machine between the card's ABCD bits (`cas-bits`) and one call. On an E&M trunk
 * A = B = 1 is off-hook (seized / answered) and A = B = 0 is on-hook; C and D follow A and B on ESF.
 *
 * Wink start:
 *   out:  idle ─seize─▶ awaiting-wink ─wink (off-hook 100..350 ms, then on-hook)─▶ sending-address
 *         ─digits out─▶ awaiting-answer ─far end off-hook─▶ connected
 *   in:   idle ─far end off-hook─▶ winking (our off-hook 200 ms) ─▶ collecting ─address complete─▶ offered
 *         ─answer()─▶ connected (our off-hook)
 * Immediate start: no wink; out: address after a 150 ms guard; in: collecting at once.
 * Either side going on-hook ends the call: the other follows, then idle.
 *
 * Address signaling is DTMF in the channel's audio: inbound digits come from the DTMF detector the
 * owner runs on the channel (`digit()`); outbound digits go through `sendAddress` (the owner plays
 * them). The address is complete on '#', after `maxDigits`, or `interDigitMs` after the last digit.
 * Pure: bits and digits in, bits and events out; time through the injected Clock.
 */
import type { Clock, TimerHandle } from '../../../hw/base/clock';
import { TonewallError } from '../../../hw/base/errors';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { OutboundCallRequest, PstnCall, PstnCallEvents, PstnCallInfo, PstnRelease } from '../types';

export type EmStart = 'wink' | 'immediate';
export type EmState = 'idle' | 'awaiting-wink' | 'in-wink' | 'sending-address' | 'awaiting-answer' | 'winking' | 'collecting' | 'offered' | 'connected' | 'releasing';

const TRANSITIONS: Record<EmState, readonly EmState[]> = {
  idle: ['awaiting-wink', 'sending-address', 'winking', 'collecting'],
  'awaiting-wink': ['in-wink', 'releasing', 'idle'],
  'in-wink': ['sending-address', 'releasing', 'idle'],
  'sending-address': ['awaiting-answer', 'releasing', 'idle'],
  'awaiting-answer': ['connected', 'releasing', 'idle'],
  winking: ['collecting', 'releasing', 'idle'],
  collecting: ['offered', 'releasing', 'idle'],
  offered: ['connected', 'releasing', 'idle'],
  connected: ['releasing', 'idle'],
  releasing: ['idle'],
};

export const ON_HOOK = 0b0000;
export const OFF_HOOK = 0b1111;

export interface EmChannelOptions {
  span: number;
  /** Bearer channel within the span (1..24). */
  channel: number;
  /** The card's TDM channel (PstnCallInfo.channel). */
  tdmChannel: number;
  start: EmStart;
  clock: Clock;
  /** Writes our ABCD bits toward the far end. */
  sendBits: (abcd: number) => void;
  /** Plays the address digits (DTMF) on the channel; resolves when they are out. */
  sendAddress: (digits: string) => Promise<void>;
  onOffer: (call: PstnCall) => void;
  /** Wink timing (GR-506: 140..290 ms nominal; accepted 100..350). */
  winkMs?: number;
  winkWaitMs?: number;
  interDigitMs?: number;
  maxDigits?: number;
  noAnswerMs?: number;
}

class EmCall extends TypedEmitter<PstnCallEvents> implements PstnCall {
  constructor(
    private readonly ch: EmChannel,
    readonly info: PstnCallInfo,
  ) {
    super();
  }
  get state(): string {
    return this.ch.state;
  }
  answer(): Promise<void> {
    return this.ch.answer(this);
  }
  hangup(q850: number, reason: string): Promise<void> {
    this.ch.hangup(this, q850, reason);
    return Promise.resolve();
  }
}

export class EmChannel {
  private st: EmState = 'idle';
  private farOffHook = false;
  private farOffHookAtMs = 0;
  private call: EmCall | undefined;
  private timer: TimerHandle | undefined;
  private digits = '';

  constructor(private readonly opts: EmChannelOptions) {}

  get state(): EmState {
    return this.st;
  }

  get isIdle(): boolean {
    return this.st === 'idle' && !this.farOffHook;
  }

  /** The far end's ABCD bits changed. */
  receiveBits(abcd: number): void {
    const off = (abcd & 0b1000) !== 0;
    if (off === this.farOffHook) return;
    this.farOffHook = off;
    const now = this.opts.clock.monotonicMs();
    if (off) {
      this.farOffHookAtMs = now;
      this.onFarOffHook();
    } else {
      this.onFarOnHook(now - this.farOffHookAtMs);
    }
  }

  /** A DTMF digit detected in the channel's audio (address signaling of an incoming call). */
  digit(d: string): void {
    if (this.st !== 'collecting') return;
    if (d === '#') return this.addressComplete();
    this.digits += d;
    if (this.digits.length >= (this.opts.maxDigits ?? 16)) return this.addressComplete();
    this.arm(this.opts.interDigitMs ?? 4000, () => this.addressComplete());
  }

  /** Seizes the channel for an outward call. Throws EPSTN_STATE when not idle. */
  dial(request: OutboundCallRequest): PstnCall {
    if (!this.isIdle) throw new TonewallError('EPSTN_STATE', `CAS channel ${this.opts.span}/${this.opts.channel} is ${this.st}, not idle`);
    this.call = new EmCall(this, this.infoOf(request.callingNumber ?? '', request.callingName ?? '', request.calledNumber));
    this.digits = request.calledNumber;
    this.opts.sendBits(OFF_HOOK);
    if (this.opts.start === 'wink') {
      this.go('awaiting-wink');
      this.arm(this.opts.winkWaitMs ?? 5000, () => this.release({ by: 'local', q850: 41, reason: 'no wink from the far end' }));
    } else {
      this.go('sending-address');
      this.arm(150, () => this.sendAddress());
    }
    return this.call;
  }

  answer(call: EmCall): Promise<void> {
    if (call !== this.call) return Promise.reject(new TonewallError('EPSTN_STATE', `call is not on CAS channel ${this.opts.span}/${this.opts.channel}`));
    if (this.st === 'connected') return Promise.resolve();
    if (this.st !== 'offered') return Promise.reject(new TonewallError('EPSTN_STATE', `cannot answer CAS channel ${this.opts.span}/${this.opts.channel} in state ${this.st}`));
    this.cancel();
    this.opts.sendBits(OFF_HOOK);
    this.go('connected');
    call.emit('answered');
    return Promise.resolve();
  }

  hangup(call: EmCall, q850: number, reason: string): void {
    if (call !== this.call || this.st === 'idle' || this.st === 'releasing') return;
    this.release({ by: 'local', q850, reason });
  }

  private onFarOffHook(): void {
    if (this.st === 'idle') {
      // An incoming seizure.
      this.digits = '';
      if (this.opts.start === 'wink') {
        this.go('winking');
        this.opts.sendBits(OFF_HOOK);
        this.arm(this.opts.winkMs ?? 200, () => {
          this.opts.sendBits(ON_HOOK);
          this.go('collecting');
          this.arm(this.opts.interDigitMs ?? 4000, () => this.addressComplete());
        });
      } else {
        this.go('collecting');
        this.arm(this.opts.interDigitMs ?? 4000, () => this.addressComplete());
      }
    } else if (this.st === 'awaiting-wink') {
      this.go('in-wink');
    } else if (this.st === 'awaiting-answer') {
      this.cancel();
      this.go('connected');
      this.call?.emit('answered');
    }
  }

  private onFarOnHook(offForMs: number): void {
    if (this.st === 'in-wink') {
      if (offForMs < 100 || offForMs > 350) return this.release({ by: 'pstn', q850: 41, reason: `wink of ${offForMs} ms outside 100..350 ms` });
      this.go('sending-address');
      // GR-506: address no sooner than 70 ms after the end of the wink.
      this.arm(70, () => this.sendAddress());
      return;
    }
    if (this.st === 'releasing') return this.finish();
    if (this.st !== 'idle') this.release({ by: 'pstn', q850: this.st === 'connected' || this.st === 'offered' ? 16 : 41, reason: 'far end went on-hook' });
  }

  private sendAddress(): void {
    if (this.st !== 'sending-address') return;
    const call = this.call;
    this.opts.sendAddress(this.digits).then(
      () => {
        if (this.call !== call || this.st !== 'sending-address') return;
        this.go('awaiting-answer');
        call?.emit('progress', 'progress', true);
        this.arm(this.opts.noAnswerMs ?? 60_000, () => this.release({ by: 'pstn', q850: 19, reason: 'no answer' }));
      },
      () => this.release({ by: 'local', q850: 41, reason: 'address signaling failed' }),
    );
  }

  private addressComplete(): void {
    if (this.st !== 'collecting') return;
    this.cancel();
    this.go('offered');
    this.call = new EmCall(this, this.infoOf('', '', this.digits));
    this.opts.onOffer(this.call);
  }

  private release(r: PstnRelease): void {
    this.cancel();
    const call = this.call;
    this.call = undefined;
    this.opts.sendBits(ON_HOOK);
    // Wait for the far end to go on-hook too (if it is off-hook), then idle.
    if (this.farOffHook) this.go('releasing');
    else this.finish();
    call?.emit('released', r);
  }

  private finish(): void {
    this.cancel();
    this.go('idle');
  }

  private infoOf(caller: string, name: string, called: string): PstnCallInfo {
    return { trunk: `cas/${this.opts.span}`, port: this.opts.channel, channel: this.opts.tdmChannel, callerNumber: caller, callerName: name, calledNumber: called };
  }

  private arm(ms: number, fn: () => void): void {
    this.cancel();
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      fn();
    }, ms);
  }

  private cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private go(to: EmState): void {
    if (to === this.st) return;
    if (!TRANSITIONS[this.st].includes(to)) throw new TonewallError('EPSTN_TRANSITION', `CAS channel ${this.opts.span}/${this.opts.channel}: illegal transition ${this.st} → ${to}`);
    this.st = to;
  }
}
