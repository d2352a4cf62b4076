/**
 * `tonewall run [--config F] [--mqtt-url URL] [--log-level L]`: the appliance daemon (systemd's
 * ExecStart). Runs until SIGINT/SIGTERM, then stops cleanly (calls hung up, `offline` published,
 * database closed).
 *
 * The service protocol (DESIGN.md §7): the native addon is loaded (order in
 * firmware/native/loader.ts), READY=1 goes out once the appliance has started, WATCHDOG=1 every
 * WATCHDOG_USEC/2 only while the checks pass (event-loop lag, card link), STOPPING=1 on the signal.
 * Outside systemd (no NOTIFY_SOCKET) the notifier does nothing.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../../../hw/base/clock';
import { errorMessage } from '../../../hw/base/errors';
import { loadNativeAddon } from '../../../firmware/native/loader';
import { useSecureMemory } from '../../../hw/base/secure-memory';
import { ConfigError, loadConfig } from '../../config/load';
import { Appliance } from '../appliance';
import { wipeStateDir } from '../factory-reset';
import { serviceSystemControl, SERVICE_RESTART_EXIT_CODE, type ServiceExit } from '../service-control';
import { SystemdNotifier } from '../notify';
import { rootLogger, waitForSignal } from '../runtime';
import { EventLoopLagProbe, predicateCheck, Watchdog } from '../watchdog';

/** The card link may take this long to come up after start before its absence counts as unhealthy. */
const CARD_LINK_GRACE_MS = 60_000;
/** An active call's media leg may go this long without card audio before the pipeline counts as stalled. */
const MAX_MEDIA_GAP_MS = 10_000;
/** The event loop may lag this much (GC, emulation) before the watchdog ping is withheld. */
const MAX_LOOP_LAG_MS = 5_000;

export const RUN_OPTIONS = {
  config: { type: 'string', short: 'c' },
  'mqtt-url': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** CLI flags as config overrides: `--mqtt-url` points at an external broker (the embedded one is then off). */
export function flagOverrides(values: { 'mqtt-url'?: string; 'log-level'?: string }): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (values['mqtt-url']) o['mqtt'] = { url: values['mqtt-url'], embeddedBroker: { enabled: false } };
  if (values['log-level']) o['log'] = { level: values['log-level'] };
  return o;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: RUN_OPTIONS });
  if (values.help) {
    console.log('usage: tonewall run [--config FILE] [--mqtt-url URL] [--log-level trace|debug|info|warn|error]');
    return 0;
  }
  let config;
  try {
    config = loadConfig({ file: values.config, overrides: flagOverrides(values) }).config;
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `tonewall run: ${(err as Error).message}`);
    return 1;
  }
  const log = rootLogger(config);
  const native = loadNativeAddon();
  const notifier = new SystemdNotifier({ log, native });
  const nh = notifier.health();
  log.info('service protocol', { ...nh, arch: process.arch });
  // Card data lives in an mlock'ed arena wiped with explicit_bzero when the addon is present.
  const memory = useSecureMemory(native.addon);
  log[memory.locked || !native.addon ? 'info' : 'warn']('card-data memory', { ...memory });
  // Fleet restart / factory reset and the front-panel reset end the wait below like a signal does.
  let serviceExit: ServiceExit | undefined;
  let requestExit: (why: ServiceExit) => void = () => undefined;
  const exitRequested = new Promise<ServiceExit>((res) => (requestExit = res));
  const exit = (why: ServiceExit): void => {
    serviceExit ??= why;
    requestExit(why);
  };
  const app = new Appliance({
    config,
    log,
    native: { loaded: nh.addonLoaded, memoryLocked: memory.locked, ...(nh.addonPath ? { path: nh.addonPath } : {}), ...(nh.addonError ? { error: nh.addonError } : {}) },
    onFactoryReset: () => exit('factory-reset'),
    system: serviceSystemControl({ runtimeDir: process.env['RUNTIME_DIRECTORY']?.split(':')[0], exit, log }),
  });
  const startedMs = systemClock.monotonicMs();
  try {
    await app.start();
  } catch (err) {
    notifier.status(`start-up failed: ${errorMessage(err)}`);
    return 1;
  }
  const lag = new EventLoopLagProbe(systemClock, 500);
  lag.start();
  const watchdog = new Watchdog({
    notifier,
    clock: systemClock,
    log,
    checks: [
      lag.check(MAX_LOOP_LAG_MS),
      predicateCheck('card-link', () => app.card?.state === 'up' || (app.card?.info === undefined && systemClock.monotonicMs() - startedMs < CARD_LINK_GRACE_MS), 'card link is not up'),
      {
        name: 'media',
        run: () => {
          const stalled = app.mediaStalls(MAX_MEDIA_GAP_MS);
          return stalled.length === 0 ? { ok: true } : { ok: false, reason: `no card audio processed for ${MAX_MEDIA_GAP_MS / 1000} s on ${stalled.length} active call(s)` };
        },
      },
    ],
  });
  watchdog.on('health', (h) => {
    notifier.status(h.healthy ? 'running: healthy' : `unhealthy: ${h.failing.map((f) => f.name).join(', ')}`);
    // The transfer relay holds the analog lines on tonewall only while the checks pass.
    app.board?.setHealthy(h.healthy);
  });
  notifier.ready('running');
  watchdog.start();

  const sig = await Promise.race([waitForSignal(), exitRequested]);
  log.info('stopping', { signal: sig });
  notifier.stopping(`stopping on ${sig}`);
  watchdog.stop();
  lag.stop();
  await app.stop(sig === 'SIGTERM' ? 'shutdown' : sig === 'SIGINT' ? 'interrupted' : sig);
  if (serviceExit === 'factory-reset') wipeStateDir(app.stateDir, log);
  return serviceExit ? SERVICE_RESTART_EXIT_CODE : 0;
}
