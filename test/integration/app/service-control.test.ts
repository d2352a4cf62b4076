/**
 * Host control under systemd (controller/app/service-control.ts) on a real directory standing in
 * for /run/tonewall: reboot writes the request file tonewall-reboot.path watches (printable text
 * only), refuses clearly outside the service; restart and factory reset end the daemon through its
 * exit path with the restart exit code.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { REBOOT_REQUEST_FILE, SERVICE_RESTART_EXIT_CODE, serviceSystemControl, type ServiceExit } from '../../../controller/app/service-control';
import { makeTempDir } from '../../lib/sip-peers';

describe('service control (restart, reboot, factory reset without privilege)', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reboot writes the request file with a printable reason', async () => {
    dir = makeTempDir('service-control');
    const exits: ServiceExit[] = [];
    const sc = serviceSystemControl({ runtimeDir: dir, exit: (w) => exits.push(w), log: nullLogger, now: () => Date.UTC(2026, 10, 22) });
    await sc.reboot('fleet reboot (req-1)\n\u0007');
    assert.equal(readFileSync(join(dir, REBOOT_REQUEST_FILE), 'utf8'), '2026-11-22T00:00:00.000Z fleet reboot (req-1)??\n');
    assert.deepEqual(exits, []);
  });

  it('reboot outside the service is refused naming $RUNTIME_DIRECTORY; a missing directory names the file', () => {
    dir = makeTempDir('service-control');
    assert.throws(() => serviceSystemControl({ runtimeDir: undefined, exit: () => undefined, log: nullLogger }).reboot('x'), /RUNTIME_DIRECTORY/);
    assert.throws(() => serviceSystemControl({ runtimeDir: join(dir, 'gone'), exit: () => undefined, log: nullLogger }).reboot('x'), /reboot-request/);
  });

  it('restart and factory reset go through the exit path; the code asks systemd for a fresh start', async () => {
    dir = makeTempDir('service-control');
    const exits: ServiceExit[] = [];
    const sc = serviceSystemControl({ runtimeDir: dir, exit: (w) => exits.push(w), log: nullLogger });
    await sc.restart('fleet');
    await sc.factoryReset('fleet');
    assert.deepEqual(exits, ['restart', 'factory-reset']);
    assert.notEqual(SERVICE_RESTART_EXIT_CODE, 0);
  });
});
