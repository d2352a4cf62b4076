/**
 * Factory reset (front-panel long press + confirmation, docs/appliance.md): after the appliance
 * has stopped, everything under the state directory goes (the database with its CDRs, outbox,
 * audit and payment records, the fleet-applied configuration, generated keys and certificates).
 * The directory itself stays: systemd owns it (StateDirectory=). The shipped configuration under
 * /etc/tonewall is read-only to the service and is what the appliance starts from afterwards.
 *
 * The service then exits with `SERVICE_RESTART_EXIT_CODE` (service-control.ts), which systemd's Restart=on-failure turns
 * into a fresh start.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../hw/base/logger';

/** Removes every entry of `stateDir`; returns how many were removed. A missing directory is empty. */
export function wipeStateDir(stateDir: string, log: Logger): number {
  let entries: string[];
  try {
    entries = readdirSync(stateDir);
  } catch {
    return 0;
  }
  for (const e of entries) rmSync(join(stateDir, e), { recursive: true, force: true });
  log.warn('factory reset: state directory wiped', { stateDir, entries: entries.length });
  return entries.length;
}
