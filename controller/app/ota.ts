/**
 * Wires application updates (controller/fleet/ota, docs/mqtt/ota.md) into the appliance: the
 * `ota/job` route, the retained `ota/state`, the `events/ota` outbox records, the drain (the same
 * one as the `drain` command: no new calls on either side), the health gate's checks and the
 * restart through the service manager.
 *
 * The health gate passes while: MQTT is connected, the card link is up, and the `health` verdict is
 * not `failed` — held for `policy.healthGateSec`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { Clock } from '../../hw/base/clock';
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { Config } from '../config/schema';
import { OtaService } from '../fleet/ota/ota-service';
import { DirSlotStore } from '../fleet/ota/slot-store';
import type { FleetReporter } from '../fleet/reporter';
import { fleetPublicKey } from '../fleet/rpc/signature';
import type { Store } from '../store/store';
import type { HealthBody } from '../fleet/topics';
import { softwareVersion } from './version';

export interface OtaWiring {
  config: Config;
  stateDir: string;
  reporter: FleetReporter;
  store: Store;
  clock: Clock;
  log: Logger;
  restart: (reason: string) => void;
  parts: () => {
    calls?: { setDraining(on: boolean): void; activeCalls: number } | undefined;
    sip?: { setDraining(on: boolean): void } | undefined;
    card?: { state: string } | undefined;
  };
  health: () => HealthBody | undefined;
}

/** The controller tree this process runs from (package.json's directory). */
export function runningTreeDir(): string {
  return resolve(__dirname, '..', '..', '..');
}

/** The update directory (ota.root, relative to the state directory). */
export function otaRoot(c: Config, stateDir: string): string {
  return isAbsolute(c.ota.root) ? c.ota.root : join(stateDir, c.ota.root);
}

/** The active application slot for `status`/`info` (`factory`, `a`, `b`); `unknown` when unreadable. */
export function activeSlotName(c: Config, stateDir: string): string {
  try {
    return new DirSlotStore(otaRoot(c, stateDir)).activeSlot();
  } catch {
    return 'unknown';
  }
}

export function startOta(w: OtaWiring): OtaService {
  const c = w.config;
  const root = otaRoot(c, w.stateDir);
  let fleetKey;
  if (c.mqtt.fleetPublicKeyFile) {
    try {
      fleetKey = fleetPublicKey(readFileSync(c.mqtt.fleetPublicKeyFile, 'utf8'));
    } catch (err) {
      throw new TonewallError('ECONFIG', `cannot load mqtt.fleetPublicKeyFile ${c.mqtt.fleetPublicKeyFile} for update jobs: ${errorMessage(err)}`);
    }
  }
  let caPem: string | undefined;
  if (c.ota.caFile) {
    try {
      caPem = readFileSync(c.ota.caFile, 'utf8');
    } catch (err) {
      throw new TonewallError('ECONFIG', `cannot read ota.caFile ${c.ota.caFile}: ${errorMessage(err)}`);
    }
  }
  const factoryDir = c.ota.factoryDir ?? (existsSync('/opt/tonewall/package.json') ? '/opt/tonewall' : runningTreeDir());
  const service = new OtaService({
    enabled: c.ota.enabled,
    slots: new DirSlotStore(root),
    jobs: w.store.otaJobs,
    transaction: (fn) => w.store.transaction(fn),
    appendEvent: (type, data) => {
      w.store.outbox.append('events/ota', data, type);
    },
    publishState: (body) => {
      w.reporter.setOtaState(body);
      w.reporter.kick();
    },
    fleetKey,
    runningVersion: softwareVersion(),
    maxBundleBytes: c.ota.maxBundleBytes,
    drain: {
      set: (on) => {
        w.parts().calls?.setDraining(on);
        w.parts().sip?.setDraining(on);
      },
      activeCalls: () => w.parts().calls?.activeCalls ?? 0,
    },
    health: () => {
      const why: string[] = [];
      if (!w.reporter.connected) why.push('MQTT not connected');
      const card = w.parts().card;
      if (card && card.state !== 'up') why.push(`card link ${card.state}`);
      const h = w.health();
      if (!h) why.push('health not computed yet');
      else if (h.overall === 'failed') why.push(`health ${h.overall}`);
      return why.length ? { ok: false, why: why.join('; ') } : { ok: true };
    },
    restart: w.restart,
    ...(caPem ? { caPem } : {}),
    factoryDir,
    pollMs: c.ota.pollMs,
    downloadIdleTimeoutMs: c.ota.downloadIdleTimeoutS * 1000,
    clock: w.clock,
    log: w.log,
  });
  service.start();
  w.reporter.attachOtaJob((payload) => service.onJobPayload(payload));
  return service;
}
