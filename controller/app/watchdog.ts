/**
 * The service watchdog (DESIGN.md §7, sd_watchdog_enabled(3)): every WATCHDOG_USEC/2 it runs the
 * injected health checks (event-loop lag, card link up and fresh, media pipeline alive, …) and
 * sends WATCHDOG=1 only when every check passes. A hang stops the timer itself, a failing check
 * withholds the ping; either way systemd restarts tonewall within one WatchdogSec.
 *
 * It also judges health when systemd asks for no watchdog (then at `fallbackIntervalMs`), because
 * the board follows it: the power-fail transfer relay is energised only while `healthy`.
 *
 * Checks are plain functions so they can be tested without I/O; one that throws counts as failed.
 * Helpers below build the usual ones from timestamps (`freshnessCheck`) and from the clock
 * (`EventLoopLagProbe`).
 */
import type { Clock, TimerHandle } from '../../hw/base/clock';
import { errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { TypedEmitter } from '../../hw/base/typed-emitter';

export type CheckResult = { ok: true } | { ok: false; reason: string };

export interface HealthCheck {
  readonly name: string;
  run(): CheckResult;
}

export interface WatchdogHealth {
  healthy: boolean;
  failing: { name: string; reason: string }[];
  /** WATCHDOG=1 sent / withheld since start. */
  fed: number;
  withheld: number;
  /** The systemd watchdog interval this process must ping within (ms), when systemd set one. */
  watchdogMs: number | undefined;
}

export interface WatchdogOptions {
  notifier: { watchdog(): void };
  clock: Clock;
  log: Logger;
  checks: readonly HealthCheck[];
  env?: Record<string, string | undefined>;
  pid?: number;
  /** How often to judge health when systemd set no watchdog (ms). */
  fallbackIntervalMs?: number;
}

type WatchdogEvents = {
  /** Emitted when `healthy` changes (and once on the first evaluation). */
  health: [WatchdogHealth];
};

/**
 * The systemd watchdog interval for this process in ms, or undefined when none applies:
 * WATCHDOG_USEC unset or not a positive integer, or WATCHDOG_PID set to another process.
 */
export function systemdWatchdogMs(env: Record<string, string | undefined>, pid: number): number | undefined {
  const usec = env['WATCHDOG_USEC'];
  if (!usec || !/^[1-9][0-9]*$/.test(usec)) return undefined;
  const forPid = env['WATCHDOG_PID'];
  if (forPid !== undefined && forPid !== '' && Number(forPid) !== pid) return undefined;
  return Number(usec) / 1000;
}

export class Watchdog extends TypedEmitter<WatchdogEvents> {
  readonly watchdogMs: number | undefined;
  /** The tick period: half the watchdog interval (sd_watchdog_enabled(3)), or the fallback. */
  readonly tickMs: number;
  private readonly opts: WatchdogOptions;
  private readonly log: Logger;
  private timer: TimerHandle | undefined;
  private last: WatchdogHealth | undefined;
  private fed = 0;
  private withheld = 0;

  constructor(options: WatchdogOptions) {
    super();
    this.opts = options;
    this.log = options.log.child('watchdog');
    this.watchdogMs = systemdWatchdogMs(options.env ?? process.env, options.pid ?? process.pid);
    this.tickMs = this.watchdogMs !== undefined ? Math.max(1, Math.floor(this.watchdogMs / 2)) : (options.fallbackIntervalMs ?? 5000);
  }

  /** Evaluates at once, then every `tickMs`. */
  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = this.opts.clock.setInterval(() => this.tick(), this.tickMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  get health(): WatchdogHealth {
    return this.last ?? { healthy: false, failing: [{ name: 'watchdog', reason: 'not started' }], fed: 0, withheld: 0, watchdogMs: this.watchdogMs };
  }

  /** One evaluation: run every check, feed systemd when all pass. */
  tick(): void {
    const failing: WatchdogHealth['failing'] = [];
    for (const check of this.opts.checks) {
      let r: CheckResult;
      try {
        r = check.run();
      } catch (err) {
        r = { ok: false, reason: `check threw: ${errorMessage(err)}` };
      }
      if (!r.ok) failing.push({ name: check.name, reason: r.reason });
    }
    const healthy = failing.length === 0;
    if (this.watchdogMs !== undefined) {
      if (healthy) {
        this.opts.notifier.watchdog();
        this.fed++;
      } else {
        this.withheld++;
      }
    }
    const changed = this.last?.healthy !== healthy;
    this.last = { healthy, failing, fed: this.fed, withheld: this.withheld, watchdogMs: this.watchdogMs };
    if (changed) {
      if (healthy) this.log.info('healthy');
      else this.log.warn('unhealthy: watchdog ping withheld', { failing });
      this.emit('health', this.last);
    }
  }
}

/** A check that passes while `lastSeenMs()` (monotonic ms) is within `maxAgeMs` of now. */
export function freshnessCheck(name: string, clock: Clock, lastSeenMs: () => number | undefined, maxAgeMs: number): HealthCheck {
  return {
    name,
    run(): CheckResult {
      const seen = lastSeenMs();
      if (seen === undefined) return { ok: false, reason: 'never seen' };
      const ageMs = clock.monotonicMs() - seen;
      return ageMs <= maxAgeMs ? { ok: true } : { ok: false, reason: `last seen ${Math.round(ageMs)} ms ago, limit ${maxAgeMs} ms` };
    },
  };
}

/** A check from a predicate and the reason to give when it is false. */
export function predicateCheck(name: string, ok: () => boolean, reason: string): HealthCheck {
  return { name, run: () => (ok() ? { ok: true } : { ok: false, reason }) };
}

/**
 * Event-loop lag: a timer every `sampleMs`; how late it fires is the lag. The check fails when the
 * worst lag since the previous check exceeded `maxLagMs` (then the window restarts).
 */
export class EventLoopLagProbe {
  private timer: TimerHandle | undefined;
  private expectedMs = 0;
  private worstMs = 0;

  constructor(
    private readonly clock: Clock,
    private readonly sampleMs = 250,
  ) {}

  start(): void {
    if (this.timer) return;
    this.expectedMs = this.clock.monotonicMs() + this.sampleMs;
    this.timer = this.clock.setInterval(() => {
      const now = this.clock.monotonicMs();
      this.worstMs = Math.max(this.worstMs, now - this.expectedMs);
      this.expectedMs = now + this.sampleMs;
    }, this.sampleMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** The worst lag (ms) since the last call, and reset. */
  takeWorstMs(): number {
    const w = this.worstMs;
    this.worstMs = 0;
    return w;
  }

  check(maxLagMs: number): HealthCheck {
    return {
      name: 'event-loop',
      run: (): CheckResult => {
        if (!this.timer) return { ok: false, reason: 'lag probe not started' };
        const lag = this.takeWorstMs();
        return lag <= maxLagMs ? { ok: true } : { ok: false, reason: `event loop lagged ${Math.round(lag)} ms, limit ${maxLagMs} ms` };
      },
    };
  }
}
