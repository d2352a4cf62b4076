/**
 * Status LED patterns: a pattern is a repeating list of (value, ms) steps, played on an output
 * line by `LedDriver` with the injected clock.
 *
 *   off / on            steady
 *   blink-slow          500 ms on, 500 ms off (starting, degraded)
 *   blink-fast          125 ms on, 125 ms off (factory reset armed: waiting for confirmation)
 *   heartbeat           100 on, 100 off, 100 on, 700 off (running, healthy: power LED)
 */
import type { Clock, TimerHandle } from '../base/clock';
import type { BitValue, GpioLine } from './gpio-line';

export type LedPattern = 'off' | 'on' | 'blink-slow' | 'blink-fast' | 'heartbeat';

export const LED_PATTERNS: Readonly<Record<LedPattern, readonly (readonly [BitValue, number])[]>> = {
  off: [[0, 0]],
  on: [[1, 0]],
  'blink-slow': [
    [1, 500],
    [0, 500],
  ],
  'blink-fast': [
    [1, 125],
    [0, 125],
  ],
  heartbeat: [
    [1, 100],
    [0, 100],
    [1, 100],
    [0, 700],
  ],
};

export class LedDriver {
  private pattern: LedPattern = 'off';
  private timer: TimerHandle | undefined;

  constructor(
    private readonly line: GpioLine,
    private readonly clock: Clock,
  ) {}

  get current(): LedPattern {
    return this.pattern;
  }

  /** Starts `pattern` from its first step (no-op when it is already playing). */
  set(pattern: LedPattern): void {
    if (pattern === this.pattern && (this.timer || LED_PATTERNS[pattern].length === 1)) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.pattern = pattern;
    this.play(0);
  }

  /** Stops and leaves the LED dark. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.pattern = 'off';
    this.line.write(0);
  }

  private play(index: number): void {
    const steps = LED_PATTERNS[this.pattern];
    const step = steps[index % steps.length];
    if (!step) return;
    this.line.write(step[0]);
    if (steps.length > 1) this.timer = this.clock.setTimeout(() => this.play(index + 1), step[1]);
  }
}
