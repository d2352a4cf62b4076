/**
 * Builds a FleetReporter on a temp SQLite store for fleet tests, with fast reconnects
 * (config minimums) and a short will delay. `dispose()` stops everything and removes the dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '../../hw/base/logger';
import { configSchema, type ConfigInput } from '../../controller/config/schema';
import { FleetReporter, type FleetReporterOptions } from '../../controller/fleet/reporter';
import { Store } from '../../controller/store/store';

export interface FleetHarness {
  dir: string;
  store: Store;
  reporter: FleetReporter;
  deviceId: string;
  root: string;
  dispose(): Promise<void>;
}

let counter = 0;

export function newDeviceId(): string {
  return `tw-test-${process.pid}-${++counter}`;
}

/** `stateDir`: reuse a directory (its store and `mqtt.conn` counter) instead of a fresh temp one. */
export function createFleetHarness(url: string, overrides: Partial<FleetReporterOptions> = {}, mqtt: ConfigInput['mqtt'] = {}, deviceId = newDeviceId(), stateDir?: string): FleetHarness {
  const dir = stateDir ?? mkdtempSync(join(tmpdir(), 'tw-fleet-'));
  const cfg = configSchema.parse({
    device: { id: deviceId, stateDir: dir },
    mqtt: { url, reconnectMinMs: 100, reconnectMaxMs: 1000, willDelayS: 1, sessionExpiryS: 60, ...mqtt },
  });
  const store = Store.open({ path: join(dir, 'tonewall.db'), log: nullLogger });
  const reporter = new FleetReporter({
    mqtt: cfg.mqtt,
    device: cfg.device,
    store,
    log: nullLogger,
    info: () => ({ site: 'test-site', sw: { tonewall: '0.1.0', node: process.version }, mqtt: { protocol: overrides.protocolVersion ?? 5 } }),
    firmware: { version: '0.1.0', slot: 'A' },
    pollMs: 200,
    ...overrides,
  });
  return {
    dir,
    store,
    reporter,
    deviceId,
    root: `${cfg.mqtt.topicRoot}/${deviceId}`,
    async dispose() {
      await reporter.stop();
      store.close();
      if (!stateDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
