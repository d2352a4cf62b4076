/**
 * Host control for the fleet's `restart`, `reboot` and `factory_reset` commands when tonewall runs
 * as the systemd service (`tonewall run`), without any privilege in the daemon (docs/appliance.md):
 * - restart: the daemon stops cleanly and exits with `SERVICE_RESTART_EXIT_CODE`; the unit's
 *   Restart=on-failure starts it again (no `systemctl`, which an unprivileged service may not run);
 * - reboot: a request file in the service's runtime directory (`$RUNTIME_DIRECTORY`, /run/tonewall)
 *   that `tonewall-reboot.path` turns into a root oneshot running `systemctl reboot`; systemd then
 *   stops tonewall with SIGTERM like any shutdown;
 * - factory reset: the same clean stop, then the state directory is wiped (factory-reset.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { SystemControl } from './fleet-commands';

/** EX_TEMPFAIL: not a crash, but systemd must start the service again. */
export const SERVICE_RESTART_EXIT_CODE = 75;
export const REBOOT_REQUEST_FILE = 'reboot-request';

export type ServiceExit = 'restart' | 'factory-reset';

export interface ServiceControlOptions {
  /** systemd's RuntimeDirectory for the unit (`$RUNTIME_DIRECTORY`); undefined outside systemd. */
  runtimeDir: string | undefined;
  /** Stops the appliance and exits the process (restart: code 75; factory reset: wipe, then 75). */
  exit: (why: ServiceExit, reason: string) => void;
  log: Logger;
  now?: () => number;
}

export function serviceSystemControl(o: ServiceControlOptions): SystemControl {
  return {
    restart: (reason) => {
      o.log.warn('restart requested: stopping cleanly for systemd to start the service again', { reason });
      o.exit('restart', reason);
    },
    reboot: (reason) => {
      if (!o.runtimeDir) throw new TonewallError('ENOT_SUPPORTED', 'reboot needs the service runtime directory ($RUNTIME_DIRECTORY): run tonewall under tonewall.service');
      const file = join(o.runtimeDir, REBOOT_REQUEST_FILE);
      try {
        writeFileSync(file, `${new Date(o.now?.() ?? Date.now()).toISOString()} ${reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 160)}\n`, { mode: 0o644 });
      } catch (err) {
        throw new TonewallError('EREBOOT', `cannot write the reboot request ${file}: ${errorMessage(err)}`);
      }
      o.log.warn('reboot requested: tonewall-reboot.path takes it from here', { reason, file });
    },
    factoryReset: (reason) => {
      o.log.warn('factory reset requested', { reason });
      o.exit('factory-reset', reason);
    },
  };
}
