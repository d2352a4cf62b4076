import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../../../hw/base/clock';
import { nullLogger } from '../../../hw/base/logger';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate, schemaVersion } from '../../../controller/store/migrations';
import { Store } from '../../../controller/store/store';
import { isUuidv7 } from '../../../controller/store/uuidv7';

function manualClock(start = 1_767_000_000_000): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    monotonicMs: () => t,
    setTimeout: () => ({ cancel: () => undefined }),
    setInterval: () => ({ cancel: () => undefined }),
    advance(ms: number) {
      t += ms;
    },
  };
}

describe('store (integration, temp SQLite)', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-store-'));
    path = join(dir, 'nested', 'state', 'tonewall.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the directory, applies every migration from empty, and sets the pragmas', () => {
    const store = Store.open({ path, log: nullLogger });
    try {
      assert.deepEqual(store.tables(), ['audit', 'calls', 'device_state', 'fleet_config', 'ota_jobs', 'outbox', 'payment_sessions', 'schema_version']);
      assert.equal(store.integrityCheck(), 'ok');
    } finally {
      store.close();
    }
    const db = new Database(path);
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(schemaVersion(db), LATEST_SCHEMA_VERSION);
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM schema_version').get() as { n: number }).n, MIGRATIONS.length);
    } finally {
      db.close();
    }
  });

  it('reopens without re-applying migrations and keeps the data', () => {
    const s1 = Store.open({ path, log: nullLogger });
    const e = s1.outbox.append('events/system', { what: 'boot' });
    s1.deviceState.set('k', 'v');
    s1.close();
    const s2 = Store.open({ path, log: nullLogger });
    try {
      assert.equal(s2.outbox.pending(10)[0]?.id, e.id);
      assert.equal(s2.deviceState.get('k'), 'v');
    } finally {
      s2.close();
    }
    const db = new Database(path);
    try {
      assert.deepEqual(migrate(db, 0), []);
    } finally {
      db.close();
    }
  });

  it('refuses a database from newer software, naming both versions', () => {
    Store.open({ path, log: nullLogger }).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_version (version, name, applied_ms) VALUES (?, ?, ?)').run(LATEST_SCHEMA_VERSION + 5, 'future', 0);
    db.close();
    assert.throws(() => Store.open({ path, log: nullLogger }), new RegExp(`version ${LATEST_SCHEMA_VERSION + 5} is newer than this software supports \\(${LATEST_SCHEMA_VERSION}\\)`));
  });

  it('rolls back a failing migration as a whole', () => {
    const db = new Database(join(dir, 'm.db'));
    try {
      const bad = [...MIGRATIONS, { version: LATEST_SCHEMA_VERSION + 1, name: 'bad', sql: 'CREATE TABLE t1 (a); CREATE TABLE t1 (a);' }];
      assert.throws(() => migrate(db, 0, bad), /already exists/);
      assert.equal(schemaVersion(db), LATEST_SCHEMA_VERSION);
      assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 't1'").get(), undefined);
    } finally {
      db.close();
    }
  });

  it('fails to open a corrupt file with ESTORE_CORRUPT or ESTORE_OPEN, naming the path', () => {
    Store.open({ path, log: nullLogger }).close();
    // Overwrite the header and the first pages with garbage.
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    assert.throws(() => Store.open({ path, log: nullLogger }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ESTORE_CORRUPT');
      assert.ok(err.message.includes(path));
      return true;
    });
  });

  it('outbox: assigns increasing seq and unique UUIDv7 ids, returns pending in order, acks', () => {
    const store = Store.open({ path, log: nullLogger });
    try {
      const events = Array.from({ length: 50 }, (_, i) => store.outbox.append(i % 2 ? 'events/call' : 'events/pay', { i }, i % 2 ? 'call.ended' : undefined));
      assert.equal(new Set(events.map((e) => e.id)).size, 50);
      assert.ok(events.every((e) => isUuidv7(e.id)));
      for (let i = 1; i < events.length; i++) assert.ok((events[i]?.seq ?? 0) > (events[i - 1]?.seq ?? 0));
      assert.equal(events[0]?.type, 'pay');
      assert.equal(events[1]?.type, 'call.ended');
      assert.equal(store.outbox.depth(), 50);
      const first = store.outbox.pending(10);
      assert.deepEqual(first.map((e) => e.data['i']), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual(store.outbox.pending(3, first[9]?.seq).map((e) => e.data['i']), [10, 11, 12]);
      assert.equal(store.outbox.ack(first[0]?.seq ?? -1), true);
      assert.equal(store.outbox.ack(first[0]?.seq ?? -1), false, 'second ack is a no-op');
      assert.equal(store.outbox.depth(), 49);
      assert.equal(store.outbox.pending(1)[0]?.data['i'], 1);
      assert.equal(store.outbox.lastSeq(), events[49]?.seq);
    } finally {
      store.close();
    }
  });

  it('outbox: an append inside a rolled-back transaction leaves nothing', () => {
    const store = Store.open({ path, log: nullLogger });
    try {
      assert.throws(() =>
        store.transaction(() => {
          store.calls.insert({ callId: 'c1', direction: 'in', state: 'setup', startedMs: 1 });
          store.outbox.append('events/call', { callId: 'c1', what: 'started' });
          throw new Error('abort');
        }),
      );
      assert.equal(store.outbox.depth(), 0);
      assert.equal(store.calls.get('c1'), undefined);
    } finally {
      store.close();
    }
  });

  it('outbox: refuses past outboxMaxRows with a clear error and flags near-full first', () => {
    const store = Store.open({ path, log: nullLogger, outboxMaxRows: 10, outboxNearFullRatio: 0.8 });
    try {
      for (let i = 0; i < 7; i++) store.outbox.append('events/system', { i });
      assert.equal(store.outbox.nearFull, false);
      store.outbox.append('events/system', { i: 7 });
      assert.equal(store.outbox.nearFull, true);
      store.outbox.append('events/system', { i: 8 });
      store.outbox.append('events/system', { i: 9 });
      assert.throws(() => store.outbox.append('events/system', { i: 10 }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'EOUTBOX_FULL');
        assert.match(err.message, /holds 10 unacknowledged events, the limit is 10/);
        return true;
      });
      store.outbox.ack(store.outbox.pending(1)[0]?.seq ?? -1);
      assert.equal(store.outbox.append('events/system', { i: 10 }).data['i'], 10);
    } finally {
      store.close();
    }
  });

  it('outbox: refuses card-like data and bad topics before anything is written', () => {
    const store = Store.open({ path, log: nullLogger });
    try {
      assert.throws(() => store.outbox.append('events/pay', { note: '4111111111111111' }), /EOUTBOX_SENSITIVE|card-like digit run/);
      assert.throws(() => store.outbox.append('events/pay', { pan: 'x' }), /forbidden card-data key at data.pan/);
      assert.throws(() => store.outbox.append('/events/pay', {}), /not a relative topic/);
      assert.throws(() => store.outbox.append('events/#', {}), /not a relative topic/);
      assert.equal(store.outbox.depth(), 0);
    } finally {
      store.close();
    }
  });

  it('outbox: prunes acked rows older than the retention only', () => {
    const clock = manualClock();
    const store = Store.open({ path, log: nullLogger, clock });
    try {
      const a = store.outbox.append('events/system', { n: 1 });
      const b = store.outbox.append('events/system', { n: 2 });
      store.outbox.append('events/system', { n: 3 });
      store.outbox.ack(a.seq);
      clock.advance(10_000);
      store.outbox.ack(b.seq);
      clock.advance(1_000);
      assert.equal(store.outbox.prune(5_000), 1);
      assert.equal(store.outbox.get(a.seq), undefined);
      assert.ok(store.outbox.get(b.seq));
      assert.equal(store.outbox.depth(), 1);
    } finally {
      store.close();
    }
  });

  it('calls: insert, update, and closeOpen returns the calls a crash left open', () => {
    const clock = manualClock(5_000);
    const store = Store.open({ path, log: nullLogger, clock });
    try {
      store.calls.insert({ callId: 'a', direction: 'in', state: 'active', startedMs: 1000, port: 1, callerNumber: '5551234567', calledNumber: '100' });
      store.calls.insert({ callId: 'b', direction: 'out', state: 'setup', startedMs: 2000, span: 1, channel: 5 });
      store.calls.insert({ callId: 'c', direction: 'in', state: 'setup', startedMs: 3000 });
      const c = store.calls.update('c', { state: 'ended', endedMs: 4000, endCause: 'normal', endBy: 'pstn', q850: 16, paymentCount: 1 });
      assert.equal(c.q850, 16);
      assert.equal(c.paymentCount, 1);
      assert.throws(() => store.calls.insert({ callId: 'a', direction: 'in', state: 'x', startedMs: 1 }), /call a is already recorded/);
      assert.throws(() => store.calls.update('zz', { state: 'x' }), /call zz is not recorded/);
      const closed = store.transaction(() => store.calls.closeOpen('restart'));
      assert.deepEqual(closed.map((r) => r.callId), ['a', 'b']);
      assert.ok(closed.every((r) => r.endedMs === 5000 && r.endCause === 'restart' && r.endBy === 'startup-recovery' && r.state === 'ended'));
      assert.deepEqual(store.calls.open(), []);
      assert.equal(store.calls.get('a')?.callerNumber, '5551234567');
    } finally {
      store.close();
    }
  });

  it('device_state: counters persist across reopen', () => {
    const s1 = Store.open({ path, log: nullLogger });
    assert.equal(s1.deviceState.increment('mqtt.conn'), 1);
    assert.equal(s1.deviceState.increment('mqtt.conn'), 2);
    s1.close();
    const s2 = Store.open({ path, log: nullLogger });
    try {
      assert.equal(s2.deviceState.increment('mqtt.conn'), 3);
      s2.deviceState.set('bad', 'x');
      assert.throws(() => s2.deviceState.increment('bad'), /holds "x", expected a non-negative integer/);
    } finally {
      s2.close();
    }
  });

  it('audit: appends entries and refuses card-like detail', () => {
    const store = Store.open({ path, log: nullLogger });
    try {
      store.audit.append({ source: 'mqtt', action: 'ping', actor: 'ops:alice', result: 'ok' });
      store.audit.append({ source: 'mqtt', action: 'drain', result: 'error', detail: 'not allowed' });
      assert.deepEqual(store.audit.recent(5).map((e) => e.action), ['drain', 'ping']);
      assert.throws(() => store.audit.append({ source: 'mqtt', action: 'x', result: 'ok', detail: 'pan 4111111111111111' }), /audit entry refused/);
    } finally {
      store.close();
    }
  });

  it('has no card-data column in any table (PCI DSS 3.3)', () => {
    const store = Store.open({ path, log: nullLogger });
    try {
      const forbidden = /^(pan|card|cvv\d?|cvc\d?|expiry|expiration|exp|digits?|dtmf|track\d?|pin|security)$/i;
      let checked = 0;
      for (const t of store.tables()) {
        for (const c of store.columns(t)) {
          checked++;
          for (const word of c.split('_')) assert.doesNotMatch(word, forbidden, `${t}.${c}`);
        }
      }
      assert.ok(checked > 20, `only ${checked} columns seen`);
    } finally {
      store.close();
    }
  });
});
