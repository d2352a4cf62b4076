/**
 * The card's TDM clock: the audio clock of the whole system (DESIGN.md §4). It ticks every 10 ms
 * (80 samples at 8 kHz); each tick the simulated card moves its lines on and sends one PCM chunk
 * per active channel.
 *
 * Built on an injected `Clock` with drift correction: the n-th tick is due at t0 + n·10 ms on the
 * clock's monotonic time, and each timer is armed for the time left until the next due tick, so
 * timer lateness does not accumulate: 100 ticks take 1 s of clock time. When the process falls
 * behind (a stall), the missed ticks run back to back, up to `maxCatchUpTicks`; beyond that the
 * clock skips ahead and counts the skipped ticks as slips (a real card's elastic store would slip).
 * With a manual test clock, `advance(1000)` runs exactly 100 ticks.
 */
import type { Clock, TimerHandle } from '../base/clock';

export const TICK_MS = 10;

export interface TdmClock {
  start(onTick: () => void): void;
  stop(): void;
  /** Ticks run since start. */
  readonly ticks: number;
  /** Ticks skipped after a stall longer than the catch-up limit. */
  readonly slips: number;
}

export class DriftCorrectedTdmClock implements TdmClock {
  private timer: TimerHandle | undefined;
  private t0 = 0;
  private due = 0;
  private onTick: (() => void) | undefined;
  ticks = 0;
  slips = 0;

  constructor(
    private readonly clock: Clock,
    private readonly maxCatchUpTicks = 50,
  ) {}

  start(onTick: () => void): void {
    this.stop();
    this.onTick = onTick;
    this.t0 = this.clock.monotonicMs();
    this.due = 1;
    this.arm();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.onTick = undefined;
  }

  private arm(): void {
    const wait = Math.max(0, this.t0 + this.due * TICK_MS - this.clock.monotonicMs());
    this.timer = this.clock.setTimeout(() => this.fire(), wait);
  }

  private fire(): void {
    const now = this.clock.monotonicMs();
    let run = 0;
    while (this.onTick && this.t0 + this.due * TICK_MS <= now) {
      if (run >= this.maxCatchUpTicks) {
        const behind = Math.floor((now - this.t0) / TICK_MS) - this.due + 1;
        this.slips += behind;
        this.due += behind;
        break;
      }
      this.due++;
      this.ticks++;
      run++;
      this.onTick();
    }
    if (this.onTick) this.arm();
  }
}
