/**
 * Small explicit state machine used by transactions, dialogs and calls (STYLE.md): named states,
 * one transition table, timers armed on entry and cancelled on exit. An illegal transition throws
 * a `TonewallError('ESIPSTATE')` naming both states.
 */
import { TonewallError } from '../../../../hw/base/errors';
import type { Clock, TimerHandle } from '../../../../hw/base/clock';

export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

export class StateMachine<S extends string> {
  private current: S;
  private readonly timers = new Map<string, TimerHandle>();

  constructor(
    private readonly name: string,
    private readonly table: TransitionTable<S>,
    initial: S,
    private readonly clock: Clock,
    private readonly onEnter?: (state: S, from: S) => void,
  ) {
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  can(next: S): boolean {
    return this.table[this.current].includes(next);
  }

  /** Moves to `next`, cancelling every timer of the state left. */
  to(next: S): void {
    if (!this.can(next)) throw new TonewallError('ESIPSTATE', `${this.name}: illegal transition ${this.current} -> ${next}`);
    const prev = this.current;
    this.cancelAll();
    this.current = next;
    this.onEnter?.(next, prev);
  }

  /** Arms a named timer (re-arming replaces it); it is cancelled when the state changes. */
  arm(timer: string, ms: number, fn: () => void): void {
    this.cancel(timer);
    const armedIn = this.current;
    this.timers.set(
      timer,
      this.clock.setTimeout(() => {
        this.timers.delete(timer);
        if (this.current === armedIn) fn();
      }, ms),
    );
  }

  cancel(timer: string): void {
    this.timers.get(timer)?.cancel();
    this.timers.delete(timer);
  }

  cancelAll(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }
}
