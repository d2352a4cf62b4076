/**
 * Power cuts under event load (DESIGN.md §7): the real FleetReporter publishing to Debian's
 * mosquitto while events commit, SIGKILLed at random moments (TW_POWER_CUT_KILLS, default 20; the
 * 200-kill run is `node dist/scripts/fleet-crash-test.js`). Every time: integrity ok, no
 * acknowledged (committed and reported) event lost; at the end every event delivered, in order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newDeviceId } from '../../lib/fleet-harness';
import { runPowerCuts } from '../../lib/fleet-power-cut';
import { type Mosquitto, mosquittoOrSkip, startMosquitto } from '../../lib/mosquitto';

const KILLS = Number(process.env['TW_POWER_CUT_KILLS'] ?? 20);

describe('power cuts under event load (SIGKILL, reporter publishing to mosquitto)', function () {
  this.timeout(600_000);
  let broker: Mosquitto | undefined;
  let dir = '';
  before(async function () {
    mosquittoOrSkip(this);
    broker = await startMosquitto();
    dir = mkdtempSync(join(tmpdir(), 'tw-power-cut-'));
  });
  after(async () => {
    await broker?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`integrity ok and no acknowledged event lost across ${KILLS} kills; all delivered in order after dedupe`, async () => {
    assert.ok(broker);
    const seed = Number(process.env['TW_POWER_CUT_SEED'] ?? 7);
    const r = await runPowerCuts({ url: broker.url, dir, deviceId: newDeviceId(), kills: KILLS, seed });
    assert.equal(r.delivered >= r.committed, true);
    assert.ok(r.roundsWithCommits >= KILLS / 2, `only ${r.roundsWithCommits} of ${KILLS} rounds committed anything before the kill`);
    assert.ok(r.committed > KILLS, `only ${r.committed} events committed over ${KILLS} rounds`);
  });
});
