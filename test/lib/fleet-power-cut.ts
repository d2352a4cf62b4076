/**
 * Power-cut safety under event load (DESIGN.md §7 "Durable reporting"; issue 7 evidence), shared by
 * test/integration/store/power-cut-fleet.test.ts (20 kills) and scripts/fleet-crash-test.ts (200).
 *
 * Each round starts power-cut-child.js (the real FleetReporter publishing to mosquitto while events
 * are committed), SIGKILLs it at a random moment (one round in five during start-up, the others
 * after its broker session is up), then opens the
 * database: `PRAGMA integrity_check` must say ok and every event the child reported committed must
 * be there. After the last round the outbox is drained by a reporter in this process and every
 * committed event must have reached a subscriber, in seq order after dedupe by id.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { nullLogger } from '../../hw/base/logger';
import { Store } from '../../controller/store/store';
import { createFleetHarness } from './fleet-harness';
import { FleetSubscriber } from './fleet-subscriber';

const CHILD = join(__dirname, '..', 'integration', 'store', 'power-cut-child.js');

export interface PowerCutOptions {
  url: string;
  dir: string;
  deviceId: string;
  kills: number;
  /** PRNG seed for the kill moments (printed in every failure). */
  seed: number;
  /** Kill moment: uniform in [0, maxDelayMs) after the child's session is up (default 300). */
  maxDelayMs?: number;
  onRound?: (round: number, committedThisRound: number, depth: number) => void;
}

export interface PowerCutResult {
  kills: number;
  roundsWithCommits: number;
  committed: number;
  /** Distinct events the subscriber received (all of them, or the run failed). */
  delivered: number;
  /** Deliveries beyond the first of an id (at-least-once resends after a kill). */
  duplicates: number;
  drainMs: number;
}

/** mulberry32: a small deterministic PRNG so a failing run can be replayed by its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Parses the child's report: `committed <seq> <id>` per event, only from complete lines (a write cut
 * by the SIGKILL leaves a partial last line, which says nothing about its commit).
 */
function parseReport(text: string): { committed: Map<number, string>; ready: boolean } {
  const committed = new Map<number, string>();
  let ready = false;
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  for (const line of complete.split('\n')) {
    const m = /^committed (\d+) (\S+)$/.exec(line);
    if (m) committed.set(Number(m[1]), String(m[2]));
    else if (line === 'ready') ready = true;
  }
  return { committed, ready };
}

/**
 * One round. The child's stdout is a regular file, not a pipe: a pipe the parent drains too slowly
 * makes the child's synchronous write fail with EAGAIN (seen once the outbox committed faster),
 * while a write to a file never blocks on the reader. The parent polls the file for `ready`.
 */
function killRound(o: PowerCutOptions, delayMs: number, fromSpawn: boolean, round: number): Promise<Map<number, string>> {
  return new Promise((resolve, reject) => {
    const reportPath = join(o.dir, `child-stdout-${round}.txt`);
    const out = openSync(reportPath, 'w');
    const child = spawn(process.execPath, [CHILD, o.url, o.dir, o.deviceId], { stdio: ['ignore', out, 'pipe'] });
    closeSync(out);
    let killArmed = false;
    const armKill = (): void => {
      if (killArmed) return;
      killArmed = true;
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    };
    if (fromSpawn) armKill();
    // A child that never reports its session (a loaded machine, a broker hiccup) is cut anyway.
    const backstop = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const readyPoll = fromSpawn ? undefined : setInterval(() => {
      if (parseReport(readFileSync(reportPath, 'utf8')).ready) {
        clearInterval(readyPoll);
        armKill();
      }
    }, 5);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(backstop);
      if (readyPoll) clearInterval(readyPoll);
      const { committed } = parseReport(readFileSync(reportPath, 'utf8'));
      rmSync(reportPath, { force: true });
      if (signal !== 'SIGKILL') reject(new Error(`power-cut child exited with code ${code} signal ${signal}, expected SIGKILL; stderr: ${stderr}`));
      else resolve(committed);
    });
  });
}

export async function runPowerCuts(o: PowerCutOptions): Promise<PowerCutResult> {
  const random = seededRandom(o.seed);
  const dbPath = join(o.dir, 'tonewall.db');
  const root = `tonewall/v1/${o.deviceId}`;
  const sub = await FleetSubscriber.connect(o.url, [`${root}/events/#`]);
  const all = new Map<number, string>();
  let roundsWithCommits = 0;
  try {
    for (let round = 1; round <= o.kills; round++) {
      // One round in five is cut during start-up (store open, migrations, CONNECT), the rest under load.
      const fromSpawn = random() < 0.2;
      const delayMs = Math.floor(random() * (o.maxDelayMs ?? 300));
      const committed = await killRound(o, delayMs, fromSpawn, round);
      if (committed.size > 0) roundsWithCommits++;
      for (const [seq, id] of committed) all.set(seq, id);
      const where = `after kill ${round} (${delayMs} ms after ${fromSpawn ? 'spawn' : 'ready'}, seed ${o.seed})`;
      const store = Store.open({ path: dbPath, log: nullLogger });
      let depth: number;
      try {
        const integrity = store.integrityCheck();
        if (integrity !== 'ok') throw new Error(`PRAGMA integrity_check: ${integrity} ${where}`);
        depth = store.outbox.depth();
      } finally {
        store.close();
      }
      const db = new Database(dbPath, { readonly: true });
      try {
        const rows = new Map((db.prepare('SELECT seq, id FROM outbox').all() as { seq: number; id: string }[]).map((r) => [r.seq, r.id]));
        for (const [seq, id] of all) {
          if (rows.get(seq) !== id) throw new Error(`acknowledged event seq ${seq} (${id}) lost ${where}`);
        }
      } finally {
        db.close();
      }
      o.onRound?.(round, committed.size, depth);
    }
    // Drain what the last child left, then everything committed must have been delivered.
    const startMs = Date.now();
    const h = createFleetHarness(o.url, { pollMs: 50 }, { willDelayS: 0, sessionExpiryS: 60 }, o.deviceId, o.dir);
    try {
      h.reporter.start();
      await FleetSubscriber.until(`outbox drained (seed ${o.seed})`, () => h.store.outbox.depth() === 0, 60_000);
    } finally {
      await h.dispose();
    }
    const drainMs = Date.now() - startMs;
    await sub.barrier(`${root}/events/barrier`);
    const db = new Database(dbPath, { readonly: true });
    const seqById = new Map((db.prepare('SELECT seq, id FROM outbox').all() as { seq: number; id: string }[]).map((r) => [r.id, r.seq]));
    db.close();
    const seen = new Map<string, number>();
    let lastSeq = 0;
    for (const m of sub.messages) {
      const id = m.json?.['id'];
      if (typeof id !== 'string') continue;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      if (seen.get(id) !== 1) continue;
      const seq = seqById.get(id);
      if (seq === undefined) throw new Error(`delivered event ${id} is not in the outbox (seed ${o.seed})`);
      if (seq < lastSeq) throw new Error(`delivery out of order after dedupe: seq ${seq} after ${lastSeq} (seed ${o.seed})`);
      lastSeq = seq;
    }
    for (const [seq, id] of all) if (!seen.has(id)) throw new Error(`committed event seq ${seq} (${id}) never delivered (seed ${o.seed})`);
    const delivered = seen.size;
    const duplicates = [...seen.values()].reduce((a, n) => a + n - 1, 0);
    return { kills: o.kills, roundsWithCommits, committed: all.size, delivered, duplicates, drainMs };
  } finally {
    await sub.close();
  }
}

