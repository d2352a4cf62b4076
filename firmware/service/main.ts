/**
 * The appliance's systemd entry point (`ExecStart` of systemd/tonewall.service):
 *   node dist/firmware/service/main.js [--config FILE]
 * It is `tonewall run` plus the service protocol: the native addon is loaded (documented order in
 * firmware/native/loader.ts), READY=1 goes out once the appliance has started, WATCHDOG=1 every
 * WATCHDOG_USEC/2 only while the checks pass (event loop, card link), STOPPING=1 on SIGTERM.
 *
 * Until `tonewall run` does the same itself (docs/appliance.md), this keeps the daemon a proper
 * Type=notify service. Checks not reachable from here (the media pipeline) are the daemon's to add.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../../hw/base/clock';
import { errorMessage } from '../../hw/base/errors';
import { Appliance } from '../../controller/app/appliance';
import { SystemdNotifier } from '../../controller/app/notify';
import { rootLogger, waitForSignal } from '../../controller/app/runtime';
import { EventLoopLagProbe, predicateCheck, Watchdog } from '../../controller/app/watchdog';
import { loadConfig } from '../../controller/config/load';
import { loadNativeAddon } from '../native/loader';

/** The card link may take this long to come up after start before its absence counts as unhealthy. */
const CARD_LINK_GRACE_MS = 60_000;
/** The event loop may lag this much (GC, emulation) before the watchdog ping is withheld. */
const MAX_LOOP_LAG_MS = 5_000;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  const { config } = loadConfig({ file: values.config });
  const log = rootLogger(config);
  const native = loadNativeAddon();
  const notifier = new SystemdNotifier({ log, native });
  log.info('service protocol', { ...notifier.health(), arch: process.arch });

  const app = new Appliance({ config, log });
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
    ],
  });
  watchdog.on('health', (h) => notifier.status(h.healthy ? 'running: healthy' : `unhealthy: ${h.failing.map((f) => f.name).join(', ')}`));
  notifier.ready('running');
  watchdog.start();

  const sig = await waitForSignal();
  notifier.stopping(`stopping on ${sig}`);
  watchdog.stop();
  lag.stop();
  await app.stop(sig === 'SIGTERM' ? 'shutdown' : 'interrupted');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tonewall service: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
