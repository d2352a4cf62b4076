/**
 * A strict fake GPIO backend: it rejects what sysfs/onoff would reject (a line the board does not
 * have, a line opened twice, writing an input, watching an output, anything after close) and
 * records every value written with the clock's time, so tests assert on what the hardware saw.
 * Inputs are driven by the test with `set(value)`, which fires watchers on the configured edges.
 */
import type { Clock } from '../../hw/base/clock';
import type { BitValue, GpioBackend, GpioLine, GpioLineSpec } from '../../hw/gpio/gpio-line';

export class FakeGpioLine implements GpioLine {
  /** Every write (outputs) or set (inputs): [ms since the backend was made, value]. */
  readonly history: [number, BitValue][] = [];
  private value: BitValue;
  private closed = false;
  private readonly watchers = new Set<(v: BitValue) => void>();

  constructor(
    readonly spec: Readonly<GpioLineSpec>,
    private readonly elapsedMs: () => number,
  ) {
    this.value = spec.direction === 'out' ? (spec.initial ?? 0) : 0;
    this.history.push([elapsedMs(), this.value]);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The current logical value. */
  get level(): BitValue {
    return this.value;
  }

  read(): BitValue {
    this.alive('read');
    return this.value;
  }

  write(value: BitValue): void {
    this.alive('write');
    if (this.spec.direction !== 'out') throw new Error(`fake gpio: write on input ${this.spec.name}`);
    if (value !== 0 && value !== 1) throw new Error(`fake gpio: value ${String(value)} is not 0 or 1`);
    this.value = value;
    this.history.push([this.elapsedMs(), value]);
  }

  watch(cb: (value: BitValue) => void): () => void {
    this.alive('watch');
    if (this.spec.direction !== 'in') throw new Error(`fake gpio: watch on output ${this.spec.name}`);
    if ((this.spec.edge ?? 'both') === 'none') throw new Error(`fake gpio: watch on ${this.spec.name} with edge none`);
    this.watchers.add(cb);
    return () => this.watchers.delete(cb);
  }

  close(): void {
    this.alive('close');
    if (this.spec.direction === 'out') this.write(0);
    this.watchers.clear();
    this.closed = true;
  }

  /** Test side: the electrical input changes (inputs only); watchers see matching edges. */
  set(value: BitValue): void {
    if (this.spec.direction !== 'in') throw new Error(`fake gpio: set() is for inputs, ${this.spec.name} is an output`);
    if (value === this.value) return;
    this.value = value;
    this.history.push([this.elapsedMs(), value]);
    const edge = this.spec.edge ?? 'both';
    if (edge === 'both' || (edge === 'rising' && value === 1) || (edge === 'falling' && value === 0)) for (const w of [...this.watchers]) w(value);
  }

  /** Output values as [ms, value] with repeated values dropped (what a scope would show). */
  transitions(): [number, BitValue][] {
    return this.history.filter((h, i) => i === 0 || h[1] !== this.history[i - 1]?.[1]);
  }

  private alive(what: string): void {
    if (this.closed) throw new Error(`fake gpio: ${what} on closed line ${this.spec.name}`);
  }
}

export class FakeGpioBackend implements GpioBackend {
  readonly kind = 'fake';
  private readonly open_ = new Map<number, FakeGpioLine>();
  private readonly t0: number;

  /** `boardLines`: the line numbers this board has (anything else is refused like a bad sysfs export). */
  constructor(
    private readonly clock: Clock,
    private readonly boardLines: readonly number[] = [512, 513, 514, 515, 516, 517, 518, 519],
  ) {
    this.t0 = clock.monotonicMs();
  }

  open(spec: GpioLineSpec): FakeGpioLine {
    if (!this.boardLines.includes(spec.line)) throw new Error(`fake gpio: line ${spec.line} (${spec.name}) does not exist on this board`);
    const prev = this.open_.get(spec.line);
    if (prev && !prev.isClosed) throw new Error(`fake gpio: line ${spec.line} already open as ${prev.spec.name}`);
    const line = new FakeGpioLine({ ...spec }, () => this.clock.monotonicMs() - this.t0);
    this.open_.set(spec.line, line);
    return line;
  }

  /** The line opened under `name`. */
  line(name: string): FakeGpioLine {
    for (const l of this.open_.values()) if (l.spec.name === name) return l;
    throw new Error(`fake gpio: no line named ${name}`);
  }

  get openLines(): FakeGpioLine[] {
    return [...this.open_.values()].filter((l) => !l.isClosed);
  }
}
