/**
 * Opens the store from its config slice (DESIGN.md §8: one database under the state directory).
 * A relative `store.path` is resolved under `device.stateDir`; an absolute one is used as given.
 */
import { isAbsolute, join } from 'node:path';
import type { Clock } from '../../hw/base/clock';
import type { Logger } from '../../hw/base/logger';
import type { DeviceConfig, StoreConfig } from '../config/schema';
import { Store } from './store';

export function storePath(store: StoreConfig, device: Pick<DeviceConfig, 'stateDir'>): string {
  return isAbsolute(store.path) ? store.path : join(device.stateDir, store.path);
}

export function openStoreFromConfig(options: { store: StoreConfig; device: Pick<DeviceConfig, 'stateDir'>; log: Logger; clock?: Clock }): Store {
  return Store.open({
    path: storePath(options.store, options.device),
    log: options.log,
    outboxMaxRows: options.store.outboxMaxRows,
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
