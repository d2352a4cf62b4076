/**
 * Batched outbox acknowledgements (outbox-pump.ts contract) against a real temp SQLite store and a
 * manual clock: PUBACKs are committed in one transaction per burst (maxAcks or maxDelayMs, first
 * wins); nothing is marked acknowledged before its PUBACK; an acknowledgement not yet committed when
 * the process dies leaves the event pending, so it is sent again (at-least-once).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { OutboxPump } from '../../../controller/fleet/outbox-pump';
import type { OutboxEvent } from '../../../controller/store/outbox';
import { Store } from '../../../controller/store/store';
import { flushPromises } from '../../lib/fleet-fake-mqtt';
import { ManualClock } from '../../lib/manual-clock';

interface Sent {
  ev: OutboxEvent;
  resolve: () => void;
  reject: (err: Error) => void;
}

describe('outbox pump: batched acknowledgements (temp SQLite, manual clock)', () => {
  let dir: string;
  let dbPath: string;
  let store: Store;
  let clock: ManualClock;
  let sent: Sent[];
  let acked: number[];
  let pump: OutboxPump;

  const makePump = (maxAcks: number, maxDelayMs: number, window = 200): OutboxPump =>
    new OutboxPump({
      store, log: nullLogger, clock, window, ackBatch: { maxAcks, maxDelayMs },
      publish: (ev) => new Promise<void>((resolve, reject) => sent.push({ ev, resolve, reject })),
      onAcked: (ev) => {
        assert.notEqual(store.outbox.get(ev.seq)?.ackedMs ?? null, null, `onAcked for seq ${ev.seq} before its commit`);
        acked.push(ev.seq);
      },
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-ack-batch-'));
    dbPath = join(dir, 'db.sqlite');
    clock = new ManualClock(1_767_000_000_000);
    store = Store.open({ path: dbPath, log: nullLogger, clock });
    sent = [];
    acked = [];
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const append = (n: number): void => {
    for (let i = 0; i < n; i++) store.transaction(() => store.outbox.append('events/call', { i }));
  };

  it('commits after maxAcks PUBACKs, the rest after maxDelayMs; never before the PUBACK', async () => {
    pump = makePump(64, 20);
    append(100);
    pump.onConnected();
    assert.equal(sent.length, 100);
    for (const s of sent.slice(0, 63)) s.resolve();
    await flushPromises();
    assert.equal(store.outbox.depth(), 100, '63 PUBACKs: nothing committed yet');
    assert.equal(pump.acksPending, 63);
    sent[63]?.resolve();
    await flushPromises();
    assert.equal(store.outbox.depth(), 36, 'the 64th PUBACK commits the batch');
    assert.deepEqual(acked, sent.slice(0, 64).map((s) => s.ev.seq));
    for (const s of sent.slice(64, 90)) s.resolve();
    await flushPromises();
    clock.advance(19);
    assert.equal(store.outbox.depth(), 36);
    clock.advance(1);
    assert.equal(store.outbox.depth(), 10, 'maxDelayMs after the first queued PUBACK');
    assert.equal(acked.length, 90);
    assert.deepEqual(store.outbox.pending(100).map((e) => e.seq), sent.slice(90).map((s) => s.ev.seq), 'unacknowledged events stay pending');
  });

  it('an uncommitted acknowledgement does not survive a crash: the event is pending for the next run', async () => {
    pump = makePump(64, 1000);
    append(5);
    pump.onConnected();
    for (const s of sent.slice(0, 3)) s.resolve();
    await flushPromises();
    // A second connection to the file sees what a process started after a SIGKILL would.
    const after = Store.open({ path: dbPath, log: nullLogger, clock });
    try {
      assert.equal(after.outbox.depth(), 5, 'no acknowledgement committed yet');
    } finally {
      after.close();
    }
    pump.onDisconnected(); // a clean end commits what was PUBACKed
    assert.deepEqual(store.outbox.pending(10).map((e) => e.seq), sent.slice(3).map((s) => s.ev.seq));
  });

  it('a failed publish restarts from the oldest pending without resending PUBACKed events', async () => {
    pump = makePump(64, 1000);
    append(4);
    pump.onConnected();
    sent[0]?.resolve();
    sent[1]?.resolve();
    sent[2]?.reject(new Error('Publish error: Not authorized'));
    sent[3]?.resolve();
    await flushPromises();
    const before = sent.length;
    pump.poll();
    const resent = sent.slice(before).map((s) => s.ev.seq);
    assert.deepEqual(resent, [sent[2]?.ev.seq], 'only the failed event is sent again');
    assert.equal(store.outbox.depth(), 1);
  });

  it('a reconnect commits the previous session\'s PUBACKs before choosing what to resend', async () => {
    pump = makePump(64, 1000);
    append(3);
    pump.onConnected();
    sent[0]?.resolve();
    await flushPromises();
    pump.onConnected(); // new session without a disconnect callback in between
    assert.deepEqual(sent.slice(3).map((s) => s.ev.seq), [sent[1]?.ev.seq, sent[2]?.ev.seq]);
  });
});
