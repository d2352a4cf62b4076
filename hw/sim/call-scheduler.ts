/**
 * Starts scripted calls on the simulated card at their times: a list of scripts (each at its
 * `atMs` after start, waiting for its port to be idle), or the endless `demo` (a call every
 * `intervalMs` on the next idle port). Timers come from the injected clock.
 */
import type { Clock, TimerHandle } from '../base/clock';
import { errorMessage } from '../base/errors';
import type { Logger } from '../base/logger';
import { demoCall, type CallScript, type DemoOptions } from './call-script';
import type { SimCard } from './sim-card';

export interface DemoScheduleOptions extends DemoOptions {
  intervalMs: number;
  /** Delay of the first call, ms (default min(2000, intervalMs)). */
  firstCallMs?: number;
}

/** A port that is busy when its call is due is retried this often, ms. */
const BUSY_RETRY_MS = 500;

export class CallScheduler {
  private readonly timers = new Set<TimerHandle>();
  private demoIndex = 0;
  /** Demo calls skipped because every port was busy. */
  skipped = 0;

  constructor(
    private readonly card: SimCard,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  runScripts(scripts: readonly CallScript[]): void {
    for (const script of scripts) this.after(script.atMs, () => this.placeWhenIdle(script));
  }

  runDemo(opts: DemoScheduleOptions): void {
    const next = (): void => {
      // The next port in turn, or the first idle one after it.
      const n = opts.ports.length;
      const start = this.demoIndex % Math.max(1, n);
      const port = Array.from({ length: n }, (_, i) => opts.ports[(start + i) % n]).find((p) => p !== undefined && this.card.isPortIdle(p));
      if (port === undefined) {
        this.skipped++;
        this.log.info('demo call skipped: no idle port', { skipped: this.skipped });
      } else {
        this.place(demoCall(this.demoIndex++, { ...opts, ports: [port] }));
      }
      this.after(opts.intervalMs, next);
    };
    this.after(opts.firstCallMs ?? Math.min(2000, opts.intervalMs), next);
  }

  stop(): void {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }

  private placeWhenIdle(script: CallScript): void {
    if (this.card.canPlace(script)) this.place(script);
    else this.after(BUSY_RETRY_MS, () => this.placeWhenIdle(script));
  }

  private place(script: CallScript): void {
    try {
      this.card.placeCall(script);
    } catch (err) {
      this.log.error('scripted call not placed', { port: script.port, error: errorMessage(err) });
    }
  }

  private after(ms: number, fn: () => void): void {
    const t = this.clock.setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}
