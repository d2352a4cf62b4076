/**
 * The application's side of fleet telemetry (DESIGN.md §6): fills the fleet's `HealthSource` and
 * metric definitions from the running parts, and keeps the retained `spans/{n}` and `ports/{n}`
 * snapshots and the span / outbox alarms current. controller/fleet never imports the parts; this
 * file is where they meet.
 *
 * Parts that start later (card, trunks, calls, payments) are read through `parts()` at every
 * sample, so a check or metric is simply absent until its part exists.
 *
 * Host probes, each absent where the host cannot answer: disk (statfs of the state directory),
 * temperature (the hottest /sys/class/thermal zone), clock sync (`timedatectl show`, sampled at
 * most once a minute), MQTT client certificate expiry (mqtt.tls.cert, read once).
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../../hw/base/clock';
import { cardGuardRefusals, type Logger } from '../../hw/base/logger';
import type { LineEvent } from '../../hw/card/types';
import type { SerialCard } from '../../hw/card/serial-card';
import type { CallManager } from '../call/call-manager';
import type { MqttConfig } from '../config/schema';
import { AlarmRaiser, OutboxBoundAlarm, SpanAlarms } from '../fleet/alarm-raiser';
import { HealthMonitor, type HealthSource } from '../fleet/health';
import { fleetMetricDefs, MetricsPublisher, type MetricDef } from '../fleet/metrics';
import type { FleetReporter } from '../fleet/reporter';
import type { RpcServer } from '../fleet/rpc';
import type { LegMetrics, PortStateBody, SipTrunkStateBody, SpanAlarm } from '../fleet/topics';
import type { FxoTrunk } from '../pstn/analog/fxo-trunk';
import type { PriTrunk } from '../pstn/isdn/pri-trunk';
import type { SpanStateBody as PriSpanState } from '../pstn/isdn/span-state';
import type { Store } from '../store/store';
import type { PaymentsService } from './payments';

export interface TelemetryParts {
  card?: SerialCard;
  trunk?: FxoTrunk;
  pri?: PriTrunk;
  calls?: CallManager;
  payments?: PaymentsService;
  rpc?: RpcServer;
}

export interface FleetTelemetryOptions {
  reporter: FleetReporter;
  store: Store;
  mqtt: MqttConfig;
  stateDir: string;
  clock: Clock;
  log: Logger;
  parts: () => TelemetryParts;
  /** The native addon as the service loaded it. */
  native?: { loaded: boolean; error?: string };
  /** SIP trunks up / configured (the SIP user agent's trunk states), when it offers them. */
  sipTrunks?: () => { up: number; total: number } | undefined;
  /** RTP per leg, when the media layer offers it. */
  legs?: () => LegMetrics[];
  /** Where thermal zones live (tests point it elsewhere). */
  thermalDir?: string;
}

/** What `sip/{trunk}` needs of a SIP trunk's state (controller/sip/trunk `TrunkState` has it). */
export interface SipTrunkStateLike {
  name: string;
  up: boolean;
  reachability: string;
  registration: string;
  registered: boolean;
  lastError: string | null;
  rttMs: number | null;
}

/** A source of SIP trunk states (controller/sip/trunk `SipTrunks` satisfies it). */
export interface SipTrunkSource {
  trunkStates(): SipTrunkStateLike[];
  on(event: 'trunk-state', listener: (state: SipTrunkStateLike) => void): unknown;
}

const REGISTRATION: Record<string, SipTrunkStateBody['registration']> = { off: 'not-required', disabled: 'not-required', registering: 'registering', registered: 'registered', failed: 'failed' };

/** The `sip/{trunk}` body of a trunk state. */
export function sipTrunkBody(t: SipTrunkStateLike): SipTrunkStateBody {
  return {
    trunk: t.name,
    registration: REGISTRATION[t.registration] ?? (t.registered ? 'registered' : 'unregistered'),
    reachable: t.up && t.reachability !== 'down',
    ...(t.rttMs !== null ? { optionsRttMs: t.rttMs } : {}),
    ...(t.lastError !== null ? { lastError: t.lastError.slice(0, 300) } : {}),
  };
}

const FXO_PORT_STATE: Record<string, PortStateBody['state']> = { idle: 'idle', ringing: 'ringing', offered: 'ringing', answering: 'offhook', connected: 'offhook', releasing: 'offhook', seizing: 'offhook', dialing: 'offhook', outgoing: 'offhook' };

/** The hottest thermal zone under `dir` (°C), or undefined when there is none. */
export function readHottestZone(dir = '/sys/class/thermal'): { celsius: number; zone: string } | undefined {
  let best: { celsius: number; zone: string } | undefined;
  let zones: string[];
  try {
    zones = readdirSync(dir).filter((z) => z.startsWith('thermal_zone'));
  } catch {
    return undefined;
  }
  for (const z of zones) {
    try {
      const milliC = Number(readFileSync(join(dir, z, 'temp'), 'utf8').trim());
      if (!Number.isFinite(milliC)) continue;
      let type = z;
      try {
        type = readFileSync(join(dir, z, 'type'), 'utf8').trim() || z;
      } catch {
        // the zone's name is optional
      }
      if (!best || milliC / 1000 > best.celsius) best = { celsius: milliC / 1000, zone: type };
    } catch {
      // an unreadable zone is skipped
    }
  }
  return best;
}

/** notAfter (ms epoch) of the PEM certificate at `path`, or undefined when absent or unreadable. */
export function certNotAfterMs(path: string | undefined): number | undefined {
  if (!path) return undefined;
  try {
    const ms = Date.parse(new X509Certificate(readFileSync(path)).validTo);
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}

export class FleetTelemetry {
  readonly health: HealthMonitor;
  readonly metrics: MetricsPublisher;
  readonly alarms: AlarmRaiser;
  private readonly spanAlarms: SpanAlarms;
  private readonly outboxAlarm: OutboxBoundAlarm;
  private readonly spanAlarmState = new Map<number, SpanAlarm[]>();
  private readonly loopDelay: IntervalHistogram;
  private readonly certNotAfter: number | undefined;
  private clockSync: { atMs: number; value: { synchronized: boolean; source: string } | undefined } | undefined;
  private readonly callsStarted = { n: 0 };
  private tickTimer: TimerHandle | undefined;
  /** Last published spans/ports by topic, without counters: what counts as a change. */
  private readonly lastState = new Map<string, string>();
  private lastFullMs = Number.NEGATIVE_INFINITY;
  private sipTrunks: SipTrunkSource | undefined;
  private mqtt: MqttConfig;

  constructor(private readonly opts: FleetTelemetryOptions) {
    const { reporter, store, clock, mqtt } = opts;
    this.mqtt = mqtt;
    this.certNotAfter = certNotAfterMs(mqtt.tls.cert);
    this.loopDelay = monitorEventLoopDelay({ resolution: 20 });
    this.alarms = new AlarmRaiser({ sink: reporter, outbox: store.outbox, clock, log: opts.log.child('alarms') });
    this.spanAlarms = new SpanAlarms(this.alarms);
    this.outboxAlarm = new OutboxBoundAlarm(this.alarms);
    this.health = new HealthMonitor({
      source: this.healthSource(),
      clock,
      log: opts.log,
      publish: (b) => reporter.setHealth(b),
      intervalMs: mqtt.healthIntervalS * 1000,
      sampleMs: mqtt.healthSampleS * 1000,
      debounceMs: mqtt.healthDebounceMs,
    });
    this.metrics = new MetricsPublisher({
      metrics: this.metricDefs(),
      ...(opts.legs ? { legs: opts.legs } : {}),
      clock,
      log: opts.log,
      intervalMs: mqtt.metricsIntervalS * 1000,
      publish: (body, expiryS) => reporter.publishMetrics(body, expiryS),
    });
  }

  start(): void {
    this.loopDelay.enable();
    this.health.start();
    this.metrics.start();
    this.tickTimer = this.opts.clock.setInterval(() => this.tick(), this.mqtt.healthSampleS * 1000);
  }

  /** Live timing from config/desired: metrics interval, health interval / sample / debounce. */
  applyMqtt(m: MqttConfig): void {
    this.mqtt = m;
    this.metrics.setIntervalMs(m.metricsIntervalS * 1000);
    this.health.setTiming({ intervalMs: m.healthIntervalS * 1000, sampleMs: m.healthSampleS * 1000, debounceMs: m.healthDebounceMs });
    if (this.tickTimer) {
      this.tickTimer.cancel();
      this.tickTimer = this.opts.clock.setInterval(() => this.tick(), m.healthSampleS * 1000);
    }
  }

  stop(): void {
    this.health.stop();
    this.metrics.stop();
    this.tickTimer?.cancel();
    this.tickTimer = undefined;
    this.loopDelay.disable();
  }

  /**
   * Every health sample: the outbox bound, and spans/ports republished when their state changed
   * (counters alone do not count) or every healthIntervalS.
   */
  tick(): void {
    this.checkOutbox();
    const now = this.opts.clock.monotonicMs();
    const full = now - this.lastFullMs >= this.mqtt.healthIntervalS * 1000;
    if (full) this.lastFullMs = now;
    this.publishSpans(full);
    this.publishPorts(full);
  }

  /** True when `key`'s state (`sig`) changed since the last publish, or `force`; remembers it. */
  private changed(key: string, sig: string, force: boolean): boolean {
    if (!force && this.lastState.get(key) === sig) return false;
    this.lastState.set(key, sig);
    return true;
  }

  /**
   * Follows the SIP trunks: `sip/{trunk}` at once and on every `trunk-state` event, and the
   * `sipTrunks` health check (up = usable for new calls).
   */
  watchSipTrunks(trunks: SipTrunkSource): void {
    this.sipTrunks = trunks;
    for (const t of trunks.trunkStates()) this.opts.reporter.setSipTrunkState(t.name, sipTrunkBody(t));
    trunks.on('trunk-state', (t) => {
      this.opts.reporter.setSipTrunkState(t.name, sipTrunkBody(t));
      this.health.poke();
    });
  }

  /** Call on every outbox poll and after appends: the outbox-near-full alarm (80 % / 60 %). */
  checkOutbox(): void {
    this.outboxAlarm.check(this.opts.store.outbox.depth(), this.opts.store.outbox.maxRows);
  }

  /** A new call started (metric `calls.total`). */
  callStarted(): void {
    this.callsStarted.n++;
  }

  /** Card line events: span alarms become alarms/{id} + events/alarm and refresh spans/{n}. */
  onLineEvent(ev: LineEvent): void {
    if (ev.kind !== 'span-alarm') return;
    this.spanAlarmState.set(ev.span, [...ev.alarms]);
    this.spanAlarms.update(ev.span, ev.alarms);
    this.publishSpans(false);
    this.health.poke();
  }

  /** Publishes `spans/{n}` (when changed, or `force`) from the PRI trunk's span states. */
  publishSpans(force = true): void {
    for (const st of this.opts.parts().pri?.spanStates() ?? []) this.onSpanState(st, force);
  }

  /**
   * A PRI span's state (PriTrunk `span-state` event / `spanStates()`) → `spans/{n}` (when changed
   * apart from counters, or `force`), and its alarms → `alarms/span-{n}-…` with events/alarm.
   */
  onSpanState(st: PriSpanState, force = false): void {
    this.spanAlarmState.set(st.span, [...st.alarms]);
    this.spanAlarms.update(st.span, st.alarms);
    const body = {
      span: st.span,
      kind: st.type,
      state: st.alarms.length > 0 ? ('alarm' as const) : st.layer1Up && st.dchannelUp ? ('up' as const) : ('down' as const),
      alarms: [...st.alarms],
      dchannel: st.dchannelUp ? ('up' as const) : ('down' as const),
      layer1: st.layer1Up ? ('up' as const) : ('down' as const),
      framing: st.framing,
      lineCoding: st.lineCoding,
      configured: st.configured,
      ...(st.configError ? { configError: st.configError.slice(0, 300) } : {}),
      channels: st.channels.total,
      channelsInUse: st.channels.inUse,
      channelsMaintenance: st.channels.maintenance,
    };
    if (this.changed(`span/${st.span}`, JSON.stringify(body), force)) {
      this.opts.reporter.setSpanState(st.span, { ...body, counters: { ...st.counters } });
      this.health.poke();
    }
  }

  /** Publishes `ports/{n}` (when changed, or `force`) from the FXO lines. */
  publishPorts(force = true): void {
    for (const p of this.opts.parts().trunk?.portStates() ?? []) {
      const state = FXO_PORT_STATE[p.state] ?? 'unknown';
      if (this.changed(`port/${p.port}`, state, force)) this.opts.reporter.setPortState(p.port, { port: p.port, kind: 'fxo', state, inUse: state !== 'idle' });
    }
  }

  private healthSource(): HealthSource {
    const { store, stateDir } = this.opts;
    const parts = this.opts.parts;
    return {
      cardLink: () => {
        const card = parts().card;
        return card ? { state: card.state } : undefined;
      },
      spans: () => {
        const st = parts().pri?.spanStates() ?? [];
        return { up: st.filter((s) => s.layer1Up && s.dchannelUp && s.alarms.length === 0 && (this.spanAlarmState.get(s.span)?.length ?? 0) === 0).length, total: st.length };
      },
      sipTrunks: () => {
        if (this.opts.sipTrunks) return this.opts.sipTrunks();
        const states = this.sipTrunks?.trunkStates();
        return states ? { up: states.filter((t) => t.up).length, total: states.length } : undefined;
      },
      masking: () => {
        const c = parts().payments?.counters;
        return c ? { faults: c['maskingAlarms'] ?? 0 } : undefined;
      },
      disk: () => {
        const s = statfsSync(stateDir);
        return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
      },
      temperature: () => readHottestZone(this.opts.thermalDir),
      clockSync: () => this.clockSyncState(),
      outbox: () => ({ depth: store.outbox.depth(), maxRows: store.outbox.maxRows }),
      ...(this.opts.native ? { native: () => this.opts.native } : {}),
      mqttCertNotAfterMs: () => this.certNotAfter,
    };
  }

  /**
   * The last answer of `timedatectl show -p NTPSynchronized` (asked at most once a minute, in the
   * background: the event loop carries audio and must not wait on D-Bus). Undefined until the
   * first answer, and where timedatectl is missing or fails.
   */
  private clockSyncState(): { synchronized: boolean; source: string } | undefined {
    const now = this.opts.clock.monotonicMs();
    if (this.clockSync && now - this.clockSync.atMs < 60_000) return this.clockSync.value;
    const previous = this.clockSync?.value;
    this.clockSync = { atMs: now, value: previous };
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { encoding: 'utf8', timeout: 5000 }, (err, stdout) => {
      const out = stdout.trim();
      const value = !err && (out === 'yes' || out === 'no') ? { synchronized: out === 'yes', source: 'timedatectl' } : undefined;
      this.clockSync = { atMs: this.clockSync?.atMs ?? now, value };
    });
    return previous;
  }

  private metricDefs(): MetricDef[] {
    const parts = this.opts.parts;
    const g = (name: string, read: () => number | undefined): MetricDef => ({ name, kind: 'gauge', read });
    const c = (name: string, read: () => number | undefined): MetricDef => ({ name, kind: 'counter', read });
    const pay = (k: string) => c(`payments.${k}`, () => parts().payments?.counters?.[k]);
    const link = (k: 'framesLost' | 'crcErrors' | 'reconnects' | 'pcmDropped') => c(`card.${k}`, () => parts().card?.counters[k]);
    return [
      ...fleetMetricDefs(() => this.opts.reporter.metrics),
      g('calls.active', () => parts().calls?.activeCalls),
      c('calls.total', () => this.callsStarted.n),
      ...['started', 'approved', 'declined', 'error', 'cancelled', 'timedOut', 'maskingAlarms', 'discardedKeys'].map(pay),
      link('framesLost'),
      link('crcErrors'),
      link('reconnects'),
      link('pcmDropped'),
      c('rpc.requests', () => parts().rpc?.counters.requests),
      c('rpc.errors', () => parts().rpc?.counters.errors),
      c('logger.cardGuardRefusals', () => cardGuardRefusals()),
      g('eventLoop.lagP99Ms', () => {
        const p99 = this.loopDelay.percentile(99) / 1e6;
        this.loopDelay.reset();
        return Number.isFinite(p99) ? Math.round(p99 * 10) / 10 : undefined;
      }),
      g('process.rssBytes', () => process.memoryUsage.rss()),
    ];
  }
}
