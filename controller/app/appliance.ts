/**
 * The composition root: builds every part from the validated configuration, wires the real I/O,
 * starts them in dependency order and stops them in reverse. Nothing else reads the whole
 * configuration; each part gets its slice (STYLE.md).
 *
 * Start: store (close calls a crash left open) → MQTT (embedded broker when configured) → fleet
 * reporter → payments (processor connector) → simulated card (demo) → card driver → PSTN trunks
 * (analog FXO ports and ISDN PRI spans, whichever the card's hello lists) → SIP user agent (+ demo contact
 * center) → call manager.
 * Stop: call manager hangs up calls → SIP (BYE/CANCEL go out) → PSTN → card → simulator →
 * reporter publishes `offline` → broker → database closed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { type Clock, systemClock } from '../../hw/base/clock';
import { errorMessage } from '../../hw/base/errors';
import type { Logger, RootLogger } from '../../hw/base/logger';
import { TypedEmitter } from '../../hw/base/typed-emitter';
import { SerialCard } from '../../hw/card/serial-card';
import type { CardInfo } from '../../hw/card/types';
import { runSimulator, type SimulatorHandle } from '../../hw/sim/run-simulator';
import type { CallScript } from '../../hw/sim/call-script';
import type { CallEventType, CallRecord } from '../call/call';
import { CallManager } from '../call/call-manager';
import type { Config } from '../config/schema';
import { startEmbeddedBroker, type EmbeddedBroker } from '../fleet/embedded-broker';
import { FleetReporter } from '../fleet/reporter';
import type { LegMetrics } from '../fleet/topics';
import type { LiveConfigKey } from '../fleet/config-sync';
import type { RpcServer } from '../fleet/rpc';
import { decode as decodeG711 } from '../media/g711';
import { FxoTrunk } from '../pstn/analog/fxo-trunk';
import { PriTrunk } from '../pstn/isdn/pri-trunk';
import { TrunkDialer } from '../pstn/dialer';
import type { PstnTrunkEvents } from '../pstn/types';
import { DemoContactCenter } from '../sip/demo-endpoint';
import { SipUserAgent } from '../sip/api/user-agent';
import { SipTrunks } from '../sip/trunk/trunk-set';
import { Store } from '../store/store';
import { ApplianceBoard } from './board';
import { storeCallRecorder } from './call-recorder';
import { registerFleetCommands, runningConfig, startConfigSync, systemControl, type SystemControl } from './fleet-commands';
import { certNotAfterMs, FleetTelemetry } from './health';
import { LinkAlarms } from './link-alarms';
import { MediaFlow } from './media-flow';
import { rtpMediaFactory } from './media-leg';
import { PaymentsService } from './payments';
import { attachPaySipInfo } from './pay-sip-info';
import { activeSlotName, startOta } from './ota';
import type { OtaService } from '../fleet/ota/ota-service';
import { softwareVersion } from './version';

export interface ApplianceOptions {
  config: Config;
  log: Logger;
  clock?: Clock;
  /** Replaces the simulator's call script (the demo's `--once` places one scripted call). */
  simScript?: 'demo' | 'none' | readonly CallScript[];
  /** What the demo's scripted callers key (default: a card number made up per call). */
  simDemoKeys?: string;
  /** The native addon as the service loaded it (reported in `info`). */
  native?: { loaded: boolean; memoryLocked?: boolean; path?: string; error?: string };
  /** A factory reset was confirmed on the front panel (the service stops, wipes state and exits). */
  onFactoryReset?: () => void;
  /** Host control for the restart / reboot / factory_reset commands (default: systemctl and onFactoryReset). */
  system?: SystemControl;
}

/** The card link may take this long to come up at start before `alarms/card-link` is raised. */
const LINK_GRACE_MS = 60_000;

function hasSocat(): boolean {
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}

export interface ApplianceEvents {
  /** Every reportable call change, after it was recorded (the demo's agent listens). */
  call: [record: Readonly<CallRecord>, event: CallEventType];
}

export class Appliance extends TypedEmitter<ApplianceEvents> {
  readonly stateDir: string;
  store: Store | undefined;
  broker: EmbeddedBroker | undefined;
  reporter: FleetReporter | undefined;
  sim: SimulatorHandle | undefined;
  card: SerialCard | undefined;
  trunk: FxoTrunk | undefined;
  pri: PriTrunk | undefined;
  sip: SipUserAgent | undefined;
  /** The SIP trunks (sip.trunks: OPTIONS reachability, registration, failover; docs/sip.md). */
  sipTrunks: SipTrunks | undefined;
  demo: DemoContactCenter | undefined;
  calls: CallManager | undefined;
  payments: PaymentsService | undefined;
  /** Application updates (ota/job → ota/state; docs/mqtt/ota.md). */
  ota: OtaService | undefined;
  rpc: RpcServer | undefined;
  board: ApplianceBoard | undefined;
  linkAlarms: LinkAlarms | undefined;
  /** Card audio through each call's media leg (the watchdog's media check). */
  readonly mediaFlow: MediaFlow;
  /** health, metrics, spans/ports snapshots, span and outbox alarms (controller/app/health.ts). */
  telemetry: FleetTelemetry | undefined;
  /** The broker URL the reporter uses (embedded broker's when it runs). */
  mqttUrl = '';
  private readonly log: Logger;
  private readonly clock: Clock;
  private cardInfo: CardInfo | undefined;
  private stopping = false;

  constructor(private readonly opts: ApplianceOptions) {
    super();
    this.log = opts.log;
    this.clock = opts.clock ?? systemClock;
    this.stateDir = resolve(opts.config.device.stateDir);
    this.mediaFlow = new MediaFlow(this.clock);
  }

  /** Starts everything; on a failure, stops what had started and rethrows. */
  async start(): Promise<void> {
    try {
      await this.startParts();
    } catch (err) {
      this.log.fatal('start-up failed', { err: errorMessage(err) });
      await this.stop('start-up failed');
      throw err;
    }
  }

  private async startParts(): Promise<void> {
    const fileConfig = this.opts.config;
    mkdirSync(this.stateDir, { recursive: true });

    const storePath = isAbsolute(fileConfig.store.path) ? fileConfig.store.path : join(this.stateDir, fileConfig.store.path);
    const store = Store.open({ path: storePath, log: this.log, clock: this.clock, outboxMaxRows: fileConfig.store.outboxMaxRows });
    this.store = store;
    // The configuration the fleet pushed earlier (config/desired) lies over the file's from here on.
    const c = runningConfig(fileConfig, store, this.log);
    this.recoverOpenCalls(store);

    let protocolVersion: 4 | 5 = 5;
    this.mqttUrl = c.mqtt.url;
    if (c.mqtt.embeddedBroker.enabled) {
      this.broker = await startEmbeddedBroker({ host: c.mqtt.embeddedBroker.host, port: c.mqtt.embeddedBroker.port, log: this.log });
      this.mqttUrl = this.broker.url;
      protocolVersion = this.broker.protocolVersion;
    }
    const reporter = new FleetReporter({
      mqtt: c.mqtt,
      device: c.device,
      store,
      log: this.log,
      clock: this.clock,
      url: this.mqttUrl,
      protocolVersion,
      firmware: { version: softwareVersion(), slot: activeSlotName(c, this.stateDir) },
      info: () => this.info(),
    });
    this.reporter = reporter;
    this.rpc = this.fleetCommands(reporter, store, c);
    const telemetry = new FleetTelemetry({
      reporter,
      store,
      mqtt: c.mqtt,
      stateDir: this.stateDir,
      clock: this.clock,
      log: this.log,
      parts: () => this,
      legs: () => this.legMetrics(),
      ...(this.opts.native ? { native: this.opts.native } : {}),
    });
    this.telemetry = telemetry;
    reporter.enableRebirth(c.mqtt.rebirthJitterMaxS * 1000);
    startConfigSync({ fileConfig, running: c, reporter, store, clock: this.clock, log: this.log, live: this.liveConfig(telemetry, reporter) });
    reporter.start();
    telemetry.start();

    const board = new ApplianceBoard({
      config: c.gpio,
      log: this.log,
      clock: this.clock,
      alarms: reporter,
      onFactoryReset: () => (this.opts.onFactoryReset ? this.opts.onFactoryReset() : this.log.warn('factory reset confirmed, but this run mode does not reset')),
    });
    this.board = board;
    board.start();
    const linkAlarms = new LinkAlarms({ clock: this.clock, alarms: reporter, graceMs: LINK_GRACE_MS, onChange: (id, active) => board.setLinkAlarm(id, active) });
    this.linkAlarms = linkAlarms;
    linkAlarms.start();
    // Payment snapshots pass through on their way to the fleet: a live one lights the secure LED.
    const payFleet = {
      kick: () => reporter.kick(),
      setAlarm: (id: string, alarm: Parameters<FleetReporter['setAlarm']>[1]) => reporter.setAlarm(id, alarm),
      setPaySnapshot: (sessionId: string, snapshot: Parameters<FleetReporter['setPaySnapshot']>[1]) => {
        board.setPaymentActive(sessionId, snapshot !== null && snapshot['state'] !== 'ended');
        reporter.setPaySnapshot(sessionId, snapshot);
      },
    };

    const payments = new PaymentsService({ config: c.payments, stateDir: this.stateDir, store, fleet: payFleet, log: this.log, clock: this.clock });
    this.payments = payments;
    await payments.start();

    const cardLog = this.log.child('card');
    let transport = c.card.transport;
    let path = c.card.path;
    let socket = c.card.socket;
    if (c.card.sim.enabled) {
      const sim = c.card.sim;
      const usePty = sim.transport === 'pty' || (sim.transport === 'auto' && hasSocat());
      this.sim = await runSimulator({
        listen: `unix:${join(this.stateDir, 'card-sim.sock')}`,
        ...(usePty ? { pty: join(this.stateDir, 'card-pty') } : {}),
        script: this.opts.simScript ?? sim.script,
        log: this.log,
        ...(sim.model !== 'fxo4' ? { card: { model: sim.model } } : {}),
        demo: { intervalMs: sim.callIntervalMs, callDurationMs: sim.callDurationMs, callerNumber: sim.callerNumber, callerName: sim.callerName, ...(this.opts.simDemoKeys ? { keys: this.opts.simDemoKeys } : {}) },
      });
      if (usePty && this.sim.ptyPath) {
        transport = 'serial';
        path = this.sim.ptyPath;
      } else {
        transport = 'socket';
        socket = this.sim.address;
      }
    }
    const card = new SerialCard({
      transport,
      path,
      socket,
      baudRate: c.card.baudRate,
      keepaliveMs: c.card.keepaliveMs,
      keepaliveMissLimit: c.card.keepaliveMissLimit,
      reconnectMinMs: c.card.reconnectMinMs,
      reconnectMaxMs: c.card.reconnectMaxMs,
      log: this.log,
      clock: this.clock,
      softwareVersion: softwareVersion(),
    });
    this.card = card;
    card.on('link-up', (info) => {
      this.cardInfo = info;
      linkAlarms.cardLink(true);
      telemetry.health.poke();
      reporter.publishInfo().catch((err: unknown) => this.log.error('info not published', { err: errorMessage(err) }));
    });
    card.on('link-down', (reason) => {
      linkAlarms.cardLink(false, reason);
      telemetry.health.poke();
    });
    card.on('line', (ev) => telemetry.onLineEvent(ev));
    card.on('warning', (message) => cardLog.warn(message));

    const trunk = new FxoTrunk({
      card,
      clock: this.clock,
      log: this.log.child('pstn'),
      lineNumbers: c.pstn.analog.lineNumbers,
      defaultLineNumber: c.pstn.analog.defaultLineNumber,
      ringTimeoutMs: c.pstn.analog.ringTimeoutMs,
      // Line audio for dial tone, busy/reorder and FSK caller ID (docs/pstn.md).
      decodePcm: (law, data) => decodeG711(law, data),
      ...(c.pstn.analog.callerId !== 'card' ? { callerIdFsk: c.pstn.analog.callerId, configurePort: (cfg) => card.configurePort(cfg) } : {}),
      defaultAnswerSupervision: c.pstn.analog.answerSupervision,
      dialToneTimeoutMs: c.pstn.analog.dialToneTimeoutMs,
      noAnswerTimeoutMs: c.pstn.analog.noAnswerTimeoutMs,
    });
    this.trunk = trunk;
    trunk.on('warning', (m) => this.log.warn(m));
    trunk.start();
    // ISDN PRI spans, for cards whose hello lists spans: D-channel frames ride the card link.
    const pri = new PriTrunk({
      card,
      sendDchan: (span, data) => card.sendDchan(span, data),
      // Framing and line coding per span (E1 CRC-4/HDB3, T1 ESF/B8ZS), reported in PriTrunk.spanStates().
      configureSpan: (cfg) => card.configureSpan(cfg),
      clock: this.clock,
      log: this.log.child('pri'),
    });
    this.pri = pri;
    card.linkEvents.on('dchan', (span, data) => pri.receiveDchan(span, data));
    card.linkEvents.on('counters', (report) => pri.receiveCounters(report));
    pri.on('warning', (m) => this.log.warn(m));
    pri.on('dchannel', (span, up) => {
      this.log[up ? 'info' : 'warn'](`span ${span} D-channel ${up ? 'up' : 'down'}`);
      linkAlarms.dchannel(span, up);
      telemetry.publishSpans(false);
      telemetry.health.poke();
    });
    pri.on('span-state', (_span, body) => telemetry.onSpanState(body));
    pri.start();
    const trunks = new TypedEmitter<PstnTrunkEvents>();
    trunk.on('incoming', (call) => trunks.emit('incoming', call));
    pri.on('incoming', (call) => trunks.emit('incoming', call));
    await card.start();

    if (c.sip.demoEndpoint.enabled) {
      this.demo = new DemoContactCenter({ config: c.sip, log: this.log, clock: this.clock });
      await this.demo.start();
    }
    const sip = new SipUserAgent({ config: c.sip, log: this.log, clock: this.clock, sessionTimer: c.sip.sessionTimer });
    this.sip = sip;
    sip.on('warning', (m) => this.log.warn(m));
    // SIP → PSTN: the call manager routes the INVITE by sip.routing to the PSTN dialer (docs/sip-calls.md).
    sip.on('incoming-call', (call) => {
      if (this.calls) this.calls.acceptSip(call);
      else call.reject(503, 'Starting', { cause: 41, text: 'appliance starting' });
    });
    await sip.start();
    const sipTrunks = new SipTrunks({ config: c.sip, ua: sip, log: this.log, clock: this.clock });
    this.sipTrunks = sipTrunks;
    sipTrunks.start();
    telemetry.watchSipTrunks(sipTrunks);

    const recorder = storeCallRecorder({ store, fleet: reporter, log: this.log.child('call') });
    this.calls = new CallManager({
      card,
      trunk: trunks,
      sip,
      media: this.mediaFlow.watch(
        rtpMediaFactory({
          sip: c.sip,
          log: this.log.child('media'),
          uplink: (callId) => payments.uplinkFor(callId),
          onUplinkPayload: (callId, payload, law) => payments.observe(callId, payload, law),
        }),
      ),
      recorder: {
        changed: (record, event) => {
          recorder.changed(record, event);
          if (event === 'call.started') telemetry.callStarted();
          if (event === 'call.ended') payments.callEnded(record.callId);
          this.emit('call', record, event);
        },
      },
      log: this.log.child('call'),
      contactCenterUri: c.sip.contactCenterUri,
      callIdHeader: c.sip.callIdHeader,
      routing: c.sip.routing,
      // SIP → PSTN: PRI spans first, then the FXO ports (the first with a free channel, or the route's trunk).
      dialer: new TrunkDialer([
        { kind: 'span', dialer: pri, available: () => pri.available() },
        { kind: 'port', dialer: trunk, available: () => trunk.available() },
      ]),
      now: () => this.clock.now(),
    });
    // Payments by SIP INFO on the call's dialog, and masked progress back the same way (docs/payments.md §3).
    attachPaySipInfo({ calls: this.calls, payments, log: this.log });
    this.calls.start();
    // Updates (ota/job → ota/state): after the call side so the drain and the health gate see it all.
    const system = this.opts.system ?? systemControl(this.log, this.opts.onFactoryReset);
    this.ota = startOta({
      config: c,
      stateDir: this.stateDir,
      reporter,
      store,
      clock: this.clock,
      log: this.log,
      restart: (reason) => void system.restart(reason),
      parts: () => ({ calls: this.calls, sip: this.sip, card: this.card }),
      health: () => telemetry.health.current,
    });
    this.log.info('appliance started', { device: c.device.id, mqtt: this.mqttUrl, sip: `${sip.localAddress.address}:${sip.localAddress.port}`, stateDir: this.stateDir });
  }

  /** Stops everything in reverse order; safe to call more than once and after a failed start. */
  async stop(reason = 'shutdown'): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const step = async (name: string, fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        this.log.warn(`stop: ${name} failed`, { err: errorMessage(err) });
      }
    };
    // The lifeline path takes the analog lines first: the relay drops as soon as we stop.
    await step('board relay', () => this.board?.setHealthy(false));
    await step('updates', () => this.ota?.stop());
    await step('calls', () => this.calls?.stop(reason));
    await step('sip trunks', () => this.sipTrunks?.stop());
    await step('sip', () => this.sip?.stop());
    await step('demo endpoint', () => this.demo?.stop());
    await step('payments', () => this.payments?.stop());
    await step('pstn', () => {
      this.trunk?.stop();
      this.pri?.stop();
    });
    await step('card', () => this.card?.stop());
    await step('simulator', () => this.sim?.stop());
    await step('link alarms', () => this.linkAlarms?.stop());
    await step('board', () => this.board?.stop());
    await step('telemetry', () => this.telemetry?.stop());
    await step('fleet', () => this.reporter?.stop('shutdown'));
    await step('broker', () => this.broker?.stop());
    await step('store', () => this.store?.close());
    this.log.info('appliance stopped', { reason });
  }

  /** The fleet's commands (controller/app/fleet-commands.ts, docs/mqtt/rpc.md). */
  private fleetCommands(reporter: FleetReporter, store: Store, c: Config): RpcServer {
    const root = this.opts.log as Partial<RootLogger>;
    const setLevel = typeof root.setLevel === 'function' ? root.setLevel.bind(root) : undefined;
    return registerFleetCommands({
      reporter,
      store,
      config: c,
      stateDir: this.stateDir,
      log: this.log,
      clock: this.clock,
      info: () => this.info(),
      health: () => this.telemetry?.health.current,
      parts: () => this,
      system: this.opts.system ?? systemControl(this.log, this.opts.onFactoryReset),
      ...(setLevel ? { setLogLevel: setLevel } : {}),
    });
  }

  /** Configuration keys `config/desired` may change without a restart (DESIGN.md §6). */
  private liveConfig(telemetry: FleetTelemetry, reporter: FleetReporter): LiveConfigKey[] {
    const timing = (n: Config) => telemetry.applyMqtt(n.mqtt);
    const settings = (n: Config) => reporter.setLiveSettings({ callSnapshotExpiryS: n.mqtt.callSnapshotExpiryS, paySnapshotExpiryS: n.mqtt.paySnapshotExpiryS, rebirthJitterMaxMs: n.mqtt.rebirthJitterMaxS * 1000 });
    const live: LiveConfigKey[] = [
      ...['metricsIntervalS', 'healthIntervalS', 'healthSampleS', 'healthDebounceMs'].map((k) => ({ prefix: `mqtt.${k}`, apply: timing })),
      ...['callSnapshotExpiryS', 'paySnapshotExpiryS', 'rebirthJitterMaxS'].map((k) => ({ prefix: `mqtt.${k}`, apply: settings })),
    ];
    const root = this.opts.log as Partial<RootLogger>;
    if (typeof root.setLevel === 'function') {
      const setLevel = root.setLevel.bind(root);
      live.push({ prefix: 'log.level', apply: (n) => setLevel(n.log.level) });
    }
    return live;
  }

  /**
   * Per-call RTP figures for `metrics`: what each call's media leg received from the contact center
   * (packets, loss, interarrival jitter, RFC 3550 A.8). The uplink's loss is only known from the far
   * end's RTCP reports and is not listed.
   */
  private legMetrics(): LegMetrics[] {
    return (this.calls?.list() ?? []).map((call) => {
      const s = call.media.stats();
      return { callId: call.record.callId, leg: 'downlink', rtpPackets: s.packetsReceived, rtpLost: Math.max(0, s['lost'] ?? 0), jitterMs: Math.max(0, s['jitterMs'] ?? 0) };
    });
  }

  /** Active calls whose media leg processed no card audio for `maxGapMs` (the watchdog's media check). */
  mediaStalls(maxGapMs: number): string[] {
    return this.mediaFlow.stalled((callId) => this.calls?.get(callId)?.state === 'active', maxGapMs);
  }

  private recoverOpenCalls(store: Store): void {
    const open = store.transaction(() => {
      const calls = store.calls.closeOpen('appliance restarted during the call');
      for (const r of calls) {
        store.outbox.append('events/call', { callId: r.callId, dir: r.direction, endBy: 'startup-recovery', reason: 'appliance restarted during the call', answered: r.answeredMs !== null }, 'call.ended');
      }
      return calls;
    });
    if (open.length) this.log.warn('calls left open by an unclean stop were closed', { count: open.length });
  }

  /** `info.cert`: the MQTT client certificate's expiry, when one is configured. */
  private certInfo(): { cert?: { notAfter: string } } {
    const ms = certNotAfterMs(this.opts.config.mqtt.tls.cert);
    return ms === undefined ? {} : { cert: { notAfter: new Date(ms).toISOString() } };
  }

  private info() {
    const card = this.cardInfo;
    return {
      site: this.opts.config.device.site,
      hw: {
        model: `${process.platform}-${process.arch}`,
        ...(card ? { card: { model: card.model, fw: card.firmwareVersion, ports: card.ports.length, spans: card.spans.length } } : {}),
      },
      sw: { tonewall: softwareVersion(), node: process.version, ...(this.opts.native ? { native: this.opts.native } : {}) },
      capabilities: { rpc: this.rpc?.registered ?? [], metrics: this.telemetry?.metrics.names ?? [] },
      ...this.certInfo(),
      mqtt: { broker: this.mqttUrl, protocol: this.broker ? 4 : 5 },
    };
  }
}
