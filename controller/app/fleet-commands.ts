/**
 * The fleet's commands on this appliance (DESIGN.md §6 commands v1; docs/mqtt/rpc.md) and the
 * fleet configuration wiring (`config/desired`). Request/response over MQTT 5 with dedupe by reqId,
 * expiry, an audit row per request (RpcServer) and a fleet-key signature for dangerous methods
 * (reboot, factory_reset, restart with force). Parameter schemas: controller/fleet/rpc/method-params.ts.
 *
 * Handlers reach parts that start later through `parts()`, so a command that arrives before they
 * exist gets a clear `not_ready`. Restart, reboot and factory reset answer first (`accepted`) and act
 * `actDelayMs` later, so the reply leaves before the process does; each also leaves an
 * `events/system` record.
 *
 * Restart, drained: new calls are refused at once; the restart happens when the last call ends, or
 * is abandoned after `timeoutS` with calls still up (the appliance is undrained and
 * `system.restart_abandoned` recorded).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { type Clock, type TimerHandle } from '../../hw/base/clock';
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { CallManager } from '../call/call-manager';
import { ConfigError, parseConfig } from '../config/load';
import type { Config } from '../config/schema';
import { redactConfig } from '../config/redact';
import { ConfigSync, configWithStoredOverlay, type ConfigValidator, type LiveConfigKey } from '../fleet/config-sync';
import { collectDiagnostics } from '../fleet/diagnostics';
import type { FleetReporter } from '../fleet/reporter';
import { createFleetRpc, type RpcOutcome, type RpcServer } from '../fleet/rpc';
import { DANGEROUS, RPC_PARAMS } from '../fleet/rpc/method-params';
import type { HealthBody, InfoBody } from '../fleet/topics';
import { PAY_ACTIONS } from '../secure/pay-commands';
import type { JsonObject } from '../store/json';
import type { Store } from '../store/store';
import type { PaymentsService } from './payments';

/** What the commands may do to the host. Production: systemctl; tests: a fake that records. */
export interface SystemControl {
  restart(reason: string): Promise<void> | void;
  reboot(reason: string): Promise<void> | void;
  factoryReset(reason: string): Promise<void> | void;
}

/** Production host control: `systemctl` for restart and reboot; factory reset through the service's hook. */
export function systemControl(log: Logger, onFactoryReset?: () => void, unit = 'tonewall.service'): SystemControl {
  const run = (args: string[]): void => {
    const child = spawn('systemctl', args, { detached: true, stdio: 'ignore' });
    child.on('error', (err) => log.error(`systemctl ${args.join(' ')} failed`, { err: errorMessage(err) }));
    child.unref();
  };
  return {
    restart: () => run(['--no-block', 'restart', unit]),
    reboot: () => run(['--no-block', 'reboot']),
    factoryReset: () => {
      if (!onFactoryReset) throw new TonewallError('ENOT_SUPPORTED', 'factory reset is not supported in this run mode (no service hook)');
      onFactoryReset();
    },
  };
}

export interface FleetCommandsOptions {
  reporter: FleetReporter;
  store: Store;
  config: Config;
  /** Relative log.file paths are under it. */
  stateDir: string;
  log: Logger;
  clock: Clock;
  info: () => InfoBody;
  health: () => HealthBody | undefined;
  parts: () => { calls?: CallManager | undefined; payments?: PaymentsService | undefined; sip?: { setDraining(on: boolean): void } | undefined };
  system: SystemControl;
  /** The root logger's level setter (set_log_level); absent: the command is not offered. */
  setLogLevel?: (level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal') => void;
  /** The PSTN side's span loopback (the card's maintenance loop); absent: `not_supported`. */
  spanLoopback?: (span: number, mode: 'line' | 'payload' | 'local' | 'off', durationS: number) => Promise<void> | void;
  /** Delay between the `accepted` reply and acting (ms, default 500). */
  actDelayMs?: number;
  /** How often a drained restart checks for the last call (ms, default 1000). */
  drainPollMs?: number;
}

const notReady = (what: string): RpcOutcome => ({ status: 'error', error: { code: 'not_ready', message: `${what} is not running yet` } });

/** Validates a configuration object with the config schema: every error, each with its key path. */
export const validateConfig: ConfigValidator = (input) => {
  try {
    return { ok: true, config: parseConfig(input, 'config/desired') };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, errors: err.problems };
    return { ok: false, errors: [`(root): ${errorMessage(err)}`] };
  }
};

/** Reads the fleet's Ed25519 public key (mqtt.fleetPublicKeyFile); undefined when none is configured. */
function readFleetKey(c: Config): string | undefined {
  if (!c.mqtt.fleetPublicKeyFile) return undefined;
  try {
    return readFileSync(c.mqtt.fleetPublicKeyFile, 'utf8');
  } catch (err) {
    throw new TonewallError('ECONFIG', `cannot read mqtt.fleetPublicKeyFile ${c.mqtt.fleetPublicKeyFile}: ${errorMessage(err)}`);
  }
}

/** Builds the RpcServer (built-ins ping, get_info, rebirth) and registers every appliance command. */
export function registerFleetCommands(o: FleetCommandsOptions): RpcServer {
  const fleetKeyPem = readFleetKey(o.config);
  const rpc = createFleetRpc({ reporter: o.reporter, store: o.store, log: o.log, clock: o.clock, info: o.info, ...(fleetKeyPem ? { fleetKeyPem } : {}) });
  const log = o.log.child('commands');
  const actDelayMs = o.actDelayMs ?? 500;
  let pending: { what: string; timer: TimerHandle | undefined } | undefined;

  const record = (type: string, data: JsonObject): void => {
    try {
      o.store.outbox.append('events/system', data, type);
      o.reporter.kick();
    } catch (err) {
      log.warn('system event not recorded', { type, err: errorMessage(err) });
    }
  };
  /** Acts after the reply has gone out; one host action at a time. */
  const later = (what: string, act: () => Promise<void> | void): void => {
    pending = { what, timer: undefined };
    pending.timer = o.clock.setTimeout(() => {
      Promise.resolve()
        .then(act)
        .then(
          () => (pending = undefined),
          (err: unknown) => {
            log.error(`${what} failed`, { err: errorMessage(err) });
            record('system.action_failed', { action: what, error: errorMessage(err).slice(0, 200) });
            pending = undefined;
          },
        );
    }, actDelayMs);
  };
  const busy = (): RpcOutcome | undefined => (pending ? { status: 'error', error: { code: 'busy', message: `a ${pending.what} is already under way` } } : undefined);

  for (const action of PAY_ACTIONS) {
    rpc.register(`pay.${action}`, {
      schema: RPC_PARAMS[`pay.${action}`],
      handler: (params) => {
        const payments = o.parts().payments;
        if (!payments) return Promise.resolve(notReady('payments'));
        const r = payments.command(action, params);
        return Promise.resolve(r.ok ? { status: 'ok', data: JSON.parse(JSON.stringify(r.data)) as JsonObject } : { status: 'error', error: r.error });
      },
    });
  }
  // Drain both sides together: the call manager takes no new PSTN calls, the SIP agent answers new
  // INVITEs 503 + Retry-After and places none.
  const setDraining = (calls: CallManager, on: boolean): void => {
    calls.setDraining(on);
    o.parts().sip?.setDraining(on);
  };
  const draining = (on: boolean): RpcOutcome => {
    const calls = o.parts().calls;
    if (!calls) return notReady('the call manager');
    setDraining(calls, on);
    return { status: 'ok', data: on ? { draining: true, activeCalls: calls.activeCalls } : { draining: false } };
  };
  rpc.register('drain', { schema: RPC_PARAMS.drain, handler: () => Promise.resolve(draining(true)) });
  rpc.register('undrain', { schema: RPC_PARAMS.undrain, handler: () => Promise.resolve(draining(false)) });
  rpc.register('call.hangup', {
    schema: RPC_PARAMS['call.hangup'],
    handler: async (p) => {
      const call = o.parts().calls?.get(p.callId);
      if (!call) return { status: 'error', error: { code: 'unknown_call', message: `no active call ${p.callId}` } };
      await call.hangup('fleet command', p.q850);
      return { status: 'ok', data: { callId: p.callId } };
    },
  });
  const setLevel = o.setLogLevel;
  if (setLevel) {
    rpc.register('set_log_level', {
      schema: RPC_PARAMS.set_log_level,
      handler: (p) => {
        setLevel(p.level);
        return Promise.resolve({ status: 'ok', data: { level: p.level } });
      },
    });
  }
  rpc.register('span.loopback', {
    schema: RPC_PARAMS['span.loopback'],
    handler: async (p) => {
      if (!o.spanLoopback) return { status: 'error', error: { code: 'not_supported', message: 'this card driver offers no span loopback' } };
      await o.spanLoopback(p.span, p.mode, p.durationS);
      record('system.span_loopback', { span: p.span, mode: p.mode, durationS: p.durationS });
      return { status: 'ok', data: { span: p.span, mode: p.mode, ...(p.mode === 'off' ? {} : { durationS: p.durationS }) } };
    },
  });
  rpc.register('restart', {
    schema: RPC_PARAMS.restart,
    dangerous: DANGEROUS.restart,
    handler: (p, ctx) => {
      const b = busy();
      if (b) return Promise.resolve(b);
      const reason = p.reason ?? `fleet restart (${ctx.reqId})`;
      if (p.force) {
        record('system.restart', { forced: true, reason, activeCalls: o.parts().calls?.activeCalls ?? 0 });
        later('restart', () => o.system.restart(reason));
        return Promise.resolve({ status: 'accepted', data: { forced: true } });
      }
      const calls = o.parts().calls;
      if (!calls) return Promise.resolve(notReady('the call manager'));
      setDraining(calls, true);
      const deadline = o.clock.monotonicMs() + p.timeoutS * 1000;
      const poll = (): void => {
        if (calls.activeCalls === 0) {
          record('system.restart', { forced: false, reason, activeCalls: 0 });
          later('restart', () => o.system.restart(reason));
        } else if (o.clock.monotonicMs() >= deadline) {
          setDraining(calls, false);
          pending = undefined;
          log.warn('drained restart abandoned: calls still active at the timeout', { activeCalls: calls.activeCalls, timeoutS: p.timeoutS });
          record('system.restart_abandoned', { reason, activeCalls: calls.activeCalls, timeoutS: p.timeoutS });
        } else pending = { what: 'restart', timer: o.clock.setTimeout(poll, o.drainPollMs ?? 1000) };
      };
      pending = { what: 'restart', timer: undefined };
      const activeCalls = calls.activeCalls;
      poll();
      return Promise.resolve({ status: 'accepted', data: { forced: false, draining: true, activeCalls, timeoutS: p.timeoutS } });
    },
  });
  rpc.register('reboot', {
    schema: RPC_PARAMS.reboot,
    dangerous: DANGEROUS.reboot,
    handler: (p, ctx) => {
      const b = busy();
      if (b) return Promise.resolve(b);
      const reason = p.reason ?? `fleet reboot (${ctx.reqId})`;
      record('system.reboot', { reason });
      later('reboot', () => o.system.reboot(reason));
      return Promise.resolve({ status: 'accepted' });
    },
  });
  rpc.register('factory_reset', {
    schema: RPC_PARAMS.factory_reset,
    dangerous: DANGEROUS.factory_reset,
    handler: (p, ctx) => {
      const b = busy();
      if (b) return Promise.resolve(b);
      const reason = p.reason ?? `fleet factory reset (${ctx.reqId})`;
      record('system.factory_reset', { reason });
      later('factory reset', () => o.system.factoryReset(reason));
      return Promise.resolve({ status: 'accepted' });
    },
  });
  rpc.register('collect_diagnostics', {
    schema: RPC_PARAMS.collect_diagnostics,
    handler: (p) => {
      const file = o.config.log.file;
      const logFile = file === undefined ? undefined : isAbsolute(file) ? file : join(o.stateDir, file);
      return Promise.resolve({ status: 'ok', data: collectDiagnostics({ redactedConfig: redactConfig(o.config), logFile, store: o.store, health: o.health(), info: o.info(), logLines: p.logLines }) });
    },
  });
  return rpc;
}

export interface ConfigSyncWiring {
  /** The file configuration (environment and flags included), without the fleet overlay. */
  fileConfig: Config;
  /** What this process runs with (file ⊕ the stored overlay). */
  running: Config;
  reporter: FleetReporter;
  store: Store;
  clock: Clock;
  log: Logger;
  /** Key prefixes the app applies live (log.level, mqtt.metricsIntervalS, …). */
  live: readonly LiveConfigKey[];
}

/** `config/desired` → `config/reported`: subscribes, republishes the last report, handles each version. */
export function startConfigSync(o: ConfigSyncWiring): ConfigSync {
  const sync = new ConfigSync({
    fileConfig: o.fileConfig,
    running: o.running,
    store: o.store.fleetConfig,
    validate: validateConfig,
    live: o.live,
    publish: (b) => o.reporter.setConfigReported(b),
    record: (type, data) => {
      o.store.outbox.append('events/config', data, type);
      o.reporter.kick();
    },
    clock: o.clock,
    log: o.log,
  });
  o.reporter.attachConfigDesired((payload) => {
    sync.handle(payload);
  });
  sync.start();
  return sync;
}

/** The configuration to run with: the file configuration ⊕ the overlay the fleet pushed earlier. */
export function runningConfig(fileConfig: Config, store: Store, log: Logger): Config {
  return configWithStoredOverlay(fileConfig, store.fleetConfig, validateConfig, log).config;
}
