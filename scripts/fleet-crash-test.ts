/**
 * The 200-kill power-cut run (issue 7 evidence; DESIGN.md §7): `node dist/scripts/fleet-crash-test.js
 * [--kills 200] [--seed N]`. Starts Debian's mosquitto, then test/lib/fleet-power-cut.ts: the real
 * FleetReporter publishing while events commit, SIGKILLed at random moments; after every kill the
 * database must pass `PRAGMA integrity_check` and hold every event the child reported committed;
 * at the end every committed event must have reached a subscriber, in order after dedupe by id.
 * Prints a line per 20 rounds and a summary; exit 0 only when every check held.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runPowerCuts } from '../test/lib/fleet-power-cut';
import { mosquittoAvailable, startMosquitto } from '../test/lib/mosquitto';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { kills: { type: 'string', default: '200' }, seed: { type: 'string' } } });
  const kills = Number(values.kills);
  const seed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed);
  if (!Number.isInteger(kills) || kills < 1) throw new Error(`--kills "${values.kills}" is not a positive integer`);
  if (!mosquittoAvailable()) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
  const broker = await startMosquitto();
  const dir = mkdtempSync(join(tmpdir(), 'tw-fleet-crash-'));
  const startMs = Date.now();
  try {
    console.log(`power-cut run: ${kills} SIGKILLs under event load, seed ${seed}`);
    let committedTotal = 0;
    const r = await runPowerCuts({
      url: broker.url,
      dir,
      deviceId: `tw-crash-${process.pid}`,
      kills,
      seed,
      maxDelayMs: 1000,
      onRound: (round, committed, depth) => {
        committedTotal += committed;
        if (round % 20 === 0 || round === kills) console.log(`  kill ${round}/${kills}: integrity ok, ${committedTotal} acknowledged events all present, outbox depth ${depth}`);
      },
    });
    const s = ((Date.now() - startMs) / 1000).toFixed(1);
    console.log(`ok: ${r.kills} kills (${r.roundsWithCommits} mid-load), ${r.committed} acknowledged events, 0 lost, integrity ok every time; ${r.delivered} delivered in order after dedupe (${r.duplicates} duplicate deliveries); final drain ${r.drainMs} ms; ${s} s`);
    return 0;
  } finally {
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
