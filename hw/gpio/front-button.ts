/**
 * The front-panel button: a short press is reported; a long press ARMS a factory reset, which
 * happens only if confirmed by a second short press within the confirmation window — a single
 * accidental long press (a cable tie, a leaning box) can never wipe the appliance.
 *
 *            press                long timer (longPressMs)
 *   idle ──────────▶ pressed ──────────────────────────▶ armed-held      [armed]
 *    ▲  ◀── release ───┘ [short-press]                      │ release
 *    │                                                      ▼
 *    ├──── confirm timer (confirmWindowMs) [cancelled] ── awaiting-confirm
 *    │                                                      │ press  [confirmed]
 *    └──────────────────── release ──────────────────── confirm-held
 *
 * Timers are armed on entering a state and cleared on leaving it. Inputs come debounced.
 */
import type { Clock, TimerHandle } from '../base/clock';
import { TonewallError } from '../base/errors';
import type { Logger } from '../base/logger';
import { TypedEmitter } from '../base/typed-emitter';

export type ButtonState = 'idle' | 'pressed' | 'armed-held' | 'awaiting-confirm' | 'confirm-held';
export type ButtonInput = 'press' | 'release' | 'long-timer' | 'confirm-timeout';

type ButtonEvents = {
  'short-press': [];
  'factory-reset-armed': [];
  'factory-reset-confirmed': [];
  'factory-reset-cancelled': [];
};

/** Next state for each (state, input); `undefined` = the input means nothing here (ignored). */
const TRANSITIONS: Readonly<Record<ButtonState, Partial<Record<ButtonInput, ButtonState>>>> = {
  idle: { press: 'pressed', release: 'idle' },
  pressed: { release: 'idle', 'long-timer': 'armed-held' },
  'armed-held': { release: 'awaiting-confirm' },
  'awaiting-confirm': { press: 'confirm-held', 'confirm-timeout': 'idle', release: 'awaiting-confirm' },
  'confirm-held': { release: 'idle', press: 'confirm-held' },
};

export interface FrontButtonOptions {
  clock: Clock;
  log: Logger;
  longPressMs: number;
  confirmWindowMs: number;
}

export class FrontButton extends TypedEmitter<ButtonEvents> {
  private st: ButtonState = 'idle';
  private timer: TimerHandle | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: FrontButtonOptions) {
    super();
    this.log = opts.log.child('button');
  }

  get state(): ButtonState {
    return this.st;
  }

  /** Feed the debounced line value (1 = pressed). */
  level(pressed: boolean): void {
    this.input(pressed ? 'press' : 'release');
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.st = 'idle';
  }

  private input(input: ButtonInput): void {
    const from = this.st;
    const to = TRANSITIONS[from][input];
    if (to === undefined) {
      // Timer inputs can only arrive in the state that armed them: anything else is a bug.
      if (input === 'long-timer' || input === 'confirm-timeout') throw new TonewallError('BUTTON_STATE', `button input ${input} in state ${from}, expected it only in ${input === 'long-timer' ? 'pressed' : 'awaiting-confirm'}`);
      return;
    }
    if (to === from) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.st = to;
    this.log.debug('button', { from, input, to });
    this.enter(from, to);
  }

  private enter(from: ButtonState, to: ButtonState): void {
    switch (to) {
      case 'pressed':
        this.timer = this.opts.clock.setTimeout(() => this.input('long-timer'), this.opts.longPressMs);
        return;
      case 'armed-held':
        this.log.warn('factory reset armed: press again within the window to confirm', { confirmWindowMs: this.opts.confirmWindowMs });
        this.emit('factory-reset-armed');
        return;
      case 'awaiting-confirm':
        this.timer = this.opts.clock.setTimeout(() => this.input('confirm-timeout'), this.opts.confirmWindowMs);
        return;
      case 'confirm-held':
        this.log.warn('factory reset confirmed');
        this.emit('factory-reset-confirmed');
        return;
      case 'idle':
        if (from === 'pressed') this.emit('short-press');
        else if (from === 'awaiting-confirm') {
          this.log.info('factory reset cancelled: no confirmation in time');
          this.emit('factory-reset-cancelled');
        }
        return;
    }
  }
}
