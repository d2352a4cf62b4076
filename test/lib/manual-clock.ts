/**
 * A Clock for tests: time moves only when the test calls `advance(ms)`, which runs due timers in
 * order (timers armed by a callback run in the same advance if they fall due).
 */
import type { Clock, TimerHandle } from '../../hw/base/clock';

interface Timer {
  id: number;
  due: number;
  fn: () => void;
  everyMs: number | undefined;
}

export class ManualClock implements Clock {
  private t: number;
  private nextId = 1;
  private timers: Timer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  monotonicMs(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  /** Pending timers (for asserting that a state's timers were cleared on exit). */
  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.due - b.due || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.due > end) break;
      this.t = next.due;
      if (next.everyMs !== undefined) next.due += next.everyMs;
      else this.timers.shift();
      next.fn();
    }
    this.t = end;
  }

  private add(fn: () => void, ms: number, everyMs: number | undefined): TimerHandle {
    const timer: Timer = { id: this.nextId++, due: this.t + Math.max(0, ms), fn, everyMs };
    this.timers.push(timer);
    return {
      cancel: () => {
        this.timers = this.timers.filter((x) => x !== timer);
      },
    };
  }
}
