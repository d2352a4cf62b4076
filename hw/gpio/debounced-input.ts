/**
 * A debounced input: every edge (re)arms a `debounceMs` timer; when it expires the line is read and,
 * if the value differs from the last stable one, `onChange` gets it. Contact bounce shorter than
 * `debounceMs` therefore never reaches board logic. With debounceMs 0 edges pass at once.
 */
import type { Clock, TimerHandle } from '../base/clock';
import type { BitValue, GpioLine } from './gpio-line';

export class DebouncedInput {
  private stable: BitValue;
  private timer: TimerHandle | undefined;
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly line: GpioLine,
    private readonly clock: Clock,
    private readonly debounceMs: number,
    private readonly onChange: (value: BitValue) => void,
  ) {
    this.stable = line.read();
  }

  /** The last stable value. */
  get value(): BitValue {
    return this.stable;
  }

  start(): void {
    if (this.unwatch) return;
    this.stable = this.line.read();
    this.unwatch = this.line.watch(() => this.edge());
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private edge(): void {
    if (this.debounceMs === 0) return this.settle();
    this.timer?.cancel();
    this.timer = this.clock.setTimeout(() => this.settle(), this.debounceMs);
  }

  private settle(): void {
    this.timer = undefined;
    const v = this.line.read();
    if (v === this.stable) return;
    this.stable = v;
    this.onChange(v);
  }
}
