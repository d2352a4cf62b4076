/**
 * The retained `health` topic (DESIGN.md §6): overall ok / degraded / failed and one entry per check
 * the device can make. The application fills a `HealthSource` with provider functions (fleet never
 * imports pstn, sip or secure); a provider that is missing or returns undefined leaves its check
 * out (no thermal sensor, no timedatectl, no spans on an analog card).
 *
 * `evaluateHealth` is the pure decision; `HealthMonitor` is the shell: it samples every `sampleMs`,
 * publishes when any status changed (at most once per `debounceMs`; `poke()` after an event asks
 * for a sample after the debounce), and publishes anyway every `intervalMs` as a heartbeat.
 * Values that drift (free bytes, temperature) do not count as a change; statuses do.
 */
import type { Clock, TimerHandle } from '../../hw/base/clock';
import { errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { HealthBody, HealthChecks, HealthStatus } from './payload-schemas';

export interface HealthSource {
  /** Card link state (`up` is healthy). */
  cardLink?: () => { state: string } | undefined;
  /** PRI/CAS spans in service (D-channel up, no alarm) of those the card has. */
  spans?: () => { up: number; total: number } | undefined;
  /** SIP trunks registered/reachable of those configured. */
  sipTrunks?: () => { up: number; total: number } | undefined;
  /** Masking engine: faults since start; `failed` when the engine is unusable. */
  masking?: () => { faults: number; failed?: boolean; text?: string } | undefined;
  /** The state directory's file system. */
  disk?: () => { freeBytes: number; totalBytes: number } | undefined;
  /** The hottest thermal zone. */
  temperature?: () => { celsius: number; zone: string } | undefined;
  clockSync?: () => { synchronized: boolean; source: string } | undefined;
  outbox?: () => { depth: number; maxRows: number } | undefined;
  /** The native addon loaded, or the JS fallback (degraded). */
  native?: () => { loaded: boolean; error?: string } | undefined;
  /** The MQTT client certificate's notAfter (ms since epoch). */
  mqttCertNotAfterMs?: () => number | undefined;
}

export interface HealthThresholds {
  diskDegradedPct: number;
  diskFailedPct: number;
  tempDegradedC: number;
  tempFailedC: number;
  outboxDegradedPct: number;
  certDegradedDays: number;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = {
  diskDegradedPct: 10,
  diskFailedPct: 2,
  tempDegradedC: 80,
  tempFailedC: 95,
  outboxDegradedPct: 80,
  certDegradedDays: 30,
};

const RANK: Record<HealthStatus, number> = { ok: 0, degraded: 1, failed: 2 };
const DAY_MS = 86_400_000;

function share(up: number, total: number): HealthStatus {
  return up >= total ? 'ok' : up === 0 ? 'failed' : 'degraded';
}

/** Runs one provider; a provider that throws makes its check fail with the error text. */
function sample<T>(fn: (() => T | undefined) | undefined, onError: (text: string) => void): T | undefined {
  if (!fn) return undefined;
  try {
    return fn();
  } catch (err) {
    onError(errorMessage(err).slice(0, 200));
    return undefined;
  }
}

/** The health body from the providers' answers (pure but for calling them). */
export function evaluateHealth(src: HealthSource, nowMs: number, t: HealthThresholds = DEFAULT_HEALTH_THRESHOLDS): HealthBody {
  const checks: HealthChecks = {};
  const errors: string[] = [];
  const get = <T>(name: string, fn: (() => T | undefined) | undefined): T | undefined => sample(fn, (text) => errors.push(`${name}: ${text}`));

  const card = get('cardLink', src.cardLink);
  if (card) checks.cardLink = { status: card.state === 'up' ? 'ok' : 'failed', state: card.state };
  const spans = get('spans', src.spans);
  if (spans && spans.total > 0) checks.spans = { status: share(spans.up, spans.total), up: spans.up, total: spans.total };
  const sip = get('sipTrunks', src.sipTrunks);
  if (sip && sip.total > 0) checks.sipTrunks = { status: share(sip.up, sip.total), up: sip.up, total: sip.total };
  const masking = get('masking', src.masking);
  if (masking) {
    checks.masking = { status: masking.failed === true ? 'failed' : masking.faults > 0 ? 'degraded' : 'ok', faults: masking.faults, ...(masking.text ? { text: masking.text } : {}) };
  }
  const disk = get('disk', src.disk);
  if (disk && disk.totalBytes > 0) {
    const freePct = Math.round((disk.freeBytes / disk.totalBytes) * 1000) / 10;
    checks.disk = { status: freePct < t.diskFailedPct ? 'failed' : freePct < t.diskDegradedPct ? 'degraded' : 'ok', freeBytes: disk.freeBytes, totalBytes: disk.totalBytes, freePct };
  }
  const temp = get('temperature', src.temperature);
  if (temp) checks.temperature = { status: temp.celsius >= t.tempFailedC ? 'failed' : temp.celsius >= t.tempDegradedC ? 'degraded' : 'ok', celsius: temp.celsius, zone: temp.zone };
  const clock = get('clockSync', src.clockSync);
  if (clock) checks.clockSync = { status: clock.synchronized ? 'ok' : 'degraded', synchronized: clock.synchronized, source: clock.source };
  const outbox = get('outbox', src.outbox);
  if (outbox) {
    const usedPct = Math.round((outbox.depth / outbox.maxRows) * 1000) / 10;
    checks.outbox = { status: outbox.depth >= outbox.maxRows ? 'failed' : usedPct >= t.outboxDegradedPct ? 'degraded' : 'ok', depth: outbox.depth, maxRows: outbox.maxRows, usedPct };
  }
  const native = get('native', src.native);
  if (native) checks.native = { status: native.loaded ? 'ok' : 'degraded', loaded: native.loaded, ...(native.error ? { text: native.error.slice(0, 300) } : {}) };
  const notAfterMs = get('mqttCert', src.mqttCertNotAfterMs);
  if (notAfterMs !== undefined) {
    const daysLeft = Math.floor((notAfterMs - nowMs) / DAY_MS);
    checks.mqttCert = { status: daysLeft < 0 ? 'failed' : daysLeft < t.certDegradedDays ? 'degraded' : 'ok', daysLeft, notAfter: new Date(notAfterMs).toISOString() };
  }
  let overall: HealthStatus = errors.length > 0 ? 'degraded' : 'ok';
  for (const c of Object.values(checks)) if (c && RANK[c.status] > RANK[overall]) overall = c.status;
  return { overall, checks };
}

/** Statuses only: what counts as a change worth publishing. */
export function healthSignature(h: HealthBody): string {
  return `${h.overall}|${Object.entries(h.checks)
    .map(([k, c]) => `${k}=${c?.status ?? '-'}`)
    .join(',')}`;
}

export interface HealthMonitorOptions {
  source: HealthSource;
  clock: Clock;
  log: Logger;
  publish: (body: HealthBody) => void;
  /** Heartbeat: published at least this often (ms). */
  intervalMs: number;
  /** Statuses are sampled this often (ms). */
  sampleMs: number;
  /** At most one change-triggered publish per this long (ms). */
  debounceMs: number;
  thresholds?: HealthThresholds;
}

export class HealthMonitor {
  private last: HealthBody | undefined;
  private lastSignature = '';
  private lastPublishMs = Number.NEGATIVE_INFINITY;
  private sampleTimer: TimerHandle | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private pokeTimer: TimerHandle | undefined;
  private readonly log: Logger;

  private readonly opts: HealthMonitorOptions;

  constructor(opts: HealthMonitorOptions) {
    this.opts = { ...opts };
    this.log = opts.log.child('health');
  }

  /** The last evaluated health (undefined before start). */
  get current(): HealthBody | undefined {
    return this.last;
  }

  start(): void {
    this.publishNow();
    this.sampleTimer = this.opts.clock.setInterval(() => this.sample(), this.opts.sampleMs);
    this.heartbeatTimer = this.opts.clock.setInterval(() => this.publishNow(), this.opts.intervalMs);
  }

  stop(): void {
    for (const t of [this.sampleTimer, this.heartbeatTimer, this.pokeTimer]) t?.cancel();
    this.sampleTimer = this.heartbeatTimer = this.pokeTimer = undefined;
  }

  /** New timing (config/desired): restarts the timers when running. */
  setTiming(t: { intervalMs: number; sampleMs: number; debounceMs: number }): void {
    const running = this.sampleTimer !== undefined;
    this.opts.intervalMs = t.intervalMs;
    this.opts.sampleMs = t.sampleMs;
    this.opts.debounceMs = t.debounceMs;
    if (!running) return;
    this.stop();
    this.start();
  }

  /** Something changed (a link, a span alarm): sample after the debounce. */
  poke(): void {
    if (this.pokeTimer) return;
    this.pokeTimer = this.opts.clock.setTimeout(() => {
      this.pokeTimer = undefined;
      this.sample();
    }, this.opts.debounceMs);
  }

  /** Evaluates now; publishes when a status changed and the debounce allows (else a poke retries). */
  sample(): void {
    const h = this.evaluate();
    const sig = healthSignature(h);
    if (sig === this.lastSignature) {
      this.last = h;
      return;
    }
    const sinceMs = this.opts.clock.monotonicMs() - this.lastPublishMs;
    if (sinceMs < this.opts.debounceMs) {
      this.poke();
      return;
    }
    this.emit(h, sig);
  }

  /** Evaluates and publishes regardless of change (start, heartbeat, rebirth). */
  publishNow(): void {
    const h = this.evaluate();
    this.emit(h, healthSignature(h));
  }

  private evaluate(): HealthBody {
    return evaluateHealth(this.opts.source, this.opts.clock.now(), this.opts.thresholds);
  }

  private emit(h: HealthBody, sig: string): void {
    if (sig !== this.lastSignature && this.lastSignature !== '') this.log.info('health changed', { from: this.lastSignature, to: sig });
    this.last = h;
    this.lastSignature = sig;
    this.lastPublishMs = this.opts.clock.monotonicMs();
    try {
      this.opts.publish(h);
    } catch (err) {
      this.log.warn('health not published', { err: errorMessage(err) });
    }
  }
}
