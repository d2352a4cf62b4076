/**
 * DESIGN.md §7 "Durable reporting": a SIGKILL at any moment loses no committed event and leaves the
 * database consistent. A child commits (call row + 2 outbox events) transactions in a loop and
 * reports each commit; the parent kills it at a random moment, reopens, and checks integrity,
 * that every reported commit is present, and that no transaction is torn.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { nullLogger } from '../../../hw/base/logger';
import { Store } from '../../../controller/store/store';

const KILLS = Number(process.env['TW_CRASH_KILLS'] ?? 20);

function runAndKill(dbPath: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'crash-writer-child.js'), dbPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    const committed: number[] = [];
    let buf = '';
    let stderr = '';
    let armed = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^committed (\d+)$/.exec(line);
        if (m) committed.push(Number(m[1]));
        if ((line === 'ready' || m) && !armed) {
          armed = true;
          // A random moment: anywhere from before the first commit to a few hundred commits in.
          setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 60));
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with code ${code} signal ${signal}, expected SIGKILL; stderr: ${stderr}`));
      else resolve(committed);
    });
  });
}

describe('store crash safety (SIGKILL at random moments)', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'tw-crash-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`keeps every reported commit and integrity across ${KILLS} kills`, async () => {
    const dbPath = join(dir, 'crash.db');
    const reported = new Set<number>();
    let killsWithWork = 0;
    for (let i = 0; i < KILLS; i++) {
      const committed = await runAndKill(dbPath);
      if (committed.length > 0) killsWithWork++;
      for (const k of committed) reported.add(k);
      const store = Store.open({ path: dbPath, log: nullLogger });
      try {
        assert.equal(store.integrityCheck(), 'ok', `integrity after kill ${i + 1}`);
      } finally {
        store.close();
      }
      const db = new Database(dbPath, { readonly: true });
      try {
        const calls = new Set((db.prepare('SELECT call_id FROM calls').all() as { call_id: string }[]).map((r) => r.call_id));
        const parts = new Map<string, number>();
        for (const r of db.prepare('SELECT payload FROM outbox').all() as { payload: string }[]) {
          const p = JSON.parse(r.payload) as { callId: string };
          parts.set(p.callId, (parts.get(p.callId) ?? 0) + 1);
        }
        for (const k of reported) assert.ok(calls.has(`c-${k}`), `reported commit c-${k} lost after kill ${i + 1}`);
        for (const c of calls) assert.equal(parts.get(c), 2, `transaction for ${c} torn after kill ${i + 1}`);
        for (const c of parts.keys()) assert.ok(calls.has(c), `events for ${c} without its call row after kill ${i + 1}`);
      } finally {
        db.close();
      }
    }
    assert.ok(killsWithWork >= KILLS / 2, `only ${killsWithWork} of ${KILLS} runs committed anything before the kill`);
    assert.ok(reported.size > 0);
  });
});
