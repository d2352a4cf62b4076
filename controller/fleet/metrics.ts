/**
 * The `metrics` topic (DESIGN.md §6): every `intervalMs` one sample of counters (monotonic since
 * start) and gauges, QoS 0 with message expiry 2× the interval, so a late subscriber never sees a
 * stale sample. Nothing is dropped silently (STYLE.md): refusals of the publish guard, the schema
 * check and the logger's card guard are counters here.
 *
 * The application lists its metrics as `MetricDef`s (name, kind, a reader); a reader that returns
 * undefined (not known yet) or a value that does not fit its kind leaves the metric out of that
 * sample. `names` is what `info.capabilities.metrics` lists.
 */
import type { Clock, TimerHandle } from '../../hw/base/clock';
import { errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { LegMetrics, MetricsBody } from './payload-schemas';
import type { FleetMetrics } from './reporter';

export interface MetricDef {
  /** `[a-zA-Z][a-zA-Z0-9_.]*`, e.g. `calls.active`. */
  name: string;
  kind: 'counter' | 'gauge';
  read: () => number | undefined;
}

export interface MetricsPublisherOptions {
  metrics: readonly MetricDef[];
  /** RTP per leg, when the media layer provides it. */
  legs?: () => LegMetrics[];
  clock: Clock;
  log: Logger;
  intervalMs: number;
  /** Publishes one sample (QoS 0) with the given message expiry; false when offline (dropped). */
  publish: (body: MetricsBody, expiryS: number) => boolean;
}

/** The reporter's own counters as metrics (fleet.*). */
export function fleetMetricDefs(read: () => FleetMetrics): MetricDef[] {
  const c = (name: string, pick: (m: FleetMetrics) => number): MetricDef => ({ name, kind: 'counter', read: () => pick(read()) });
  return [
    c('fleet.published', (m) => m.published),
    c('fleet.publishErrors', (m) => m.publishErrors),
    c('fleet.guardRefused', (m) => m.guardRefused),
    c('fleet.schemaRefused', (m) => m.schemaRefused),
    c('fleet.eventsPublished', (m) => m.eventsPublished),
    c('fleet.eventsHistorical', (m) => m.eventsHistorical),
    c('fleet.connectAttempts', (m) => m.connectAttempts),
    c('fleet.lateWillsHealed', (m) => m.lateWillsHealed),
    { name: 'outbox.depth', kind: 'gauge', read: () => read().outboxDepth },
    { name: 'outbox.acksPending', kind: 'gauge', read: () => read().acksPending },
  ];
}

/** One sample from the definitions (pure but for the readers). */
export function sampleMetrics(defs: readonly MetricDef[], intervalS: number, legs?: () => LegMetrics[]): MetricsBody {
  const counters: Record<string, number> = {};
  const gauges: Record<string, number> = {};
  for (const d of defs) {
    let v: number | undefined;
    try {
      v = d.read();
    } catch {
      v = undefined;
    }
    if (v === undefined || !Number.isFinite(v)) continue;
    if (d.kind === 'counter') {
      if (Number.isInteger(v) && v >= 0) counters[d.name] = v;
    } else gauges[d.name] = v;
  }
  const legList = legs?.();
  return { intervalS, counters, gauges, ...(legList && legList.length > 0 ? { legs: legList.slice(0, 512) } : {}) };
}

export class MetricsPublisher {
  private timer: TimerHandle | undefined;
  private intervalMs: number;
  private readonly log: Logger;
  /** Samples not sent because the device was offline. */
  dropped = 0;

  constructor(private readonly opts: MetricsPublisherOptions) {
    this.intervalMs = opts.intervalMs;
    this.log = opts.log.child('metrics');
  }

  get names(): string[] {
    return this.opts.metrics.map((m) => m.name).sort();
  }

  start(): void {
    this.timer?.cancel();
    this.timer = this.opts.clock.setInterval(() => this.publishNow(), this.intervalMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Changes the interval live (config `mqtt.metricsIntervalS`); restarts the timer when running. */
  setIntervalMs(ms: number): void {
    this.intervalMs = ms;
    if (this.timer) this.start();
  }

  publishNow(): void {
    const intervalS = Math.max(1, Math.round(this.intervalMs / 1000));
    try {
      if (!this.opts.publish(sampleMetrics(this.opts.metrics, intervalS, this.opts.legs), 2 * intervalS)) this.dropped++;
    } catch (err) {
      this.log.warn('metrics not published', { err: errorMessage(err) });
    }
  }
}
