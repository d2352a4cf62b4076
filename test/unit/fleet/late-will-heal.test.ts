/**
 * staleWillConn (retained-state.ts): which messages on the device's own `status` are an older
 * connection's late will that the device must overwrite with a fresh `online`.
 */
import assert from 'node:assert/strict';
import { staleWillConn } from '../../../controller/fleet/retained-state';

const status = (state: string, conn: unknown): Buffer => Buffer.from(JSON.stringify({ v: 1, ts: 1, dev: 'd1', boot: 'b', conn, seq: 1, state, reason: 'lwt', fw: '1.0.0', slot: 'A' }));

describe('late-will self-heal decision', () => {
  it('a live offline of an older conn is stale (returns its conn)', () => {
    assert.equal(staleWillConn(status('offline', 1), false, 2), 1);
    assert.equal(staleWillConn(status('offline', 5), false, 9), 5);
  });
  it('the current or a newer conn, and online messages, are not', () => {
    assert.equal(staleWillConn(status('offline', 2), false, 2), undefined);
    assert.equal(staleWillConn(status('offline', 3), false, 2), undefined);
    assert.equal(staleWillConn(status('online', 1), false, 2), undefined);
  });
  it('a message flagged retained (stored before this session subscribed) is left to the new online', () => {
    assert.equal(staleWillConn(status('offline', 1), true, 2), undefined);
  });
  it('garbage, empty, non-integer conn are ignored', () => {
    for (const p of [Buffer.alloc(0), Buffer.from('not json'), Buffer.from('null'), Buffer.from('[1]'), status('offline', '1'), status('offline', 1.5), Buffer.alloc(5000, 0x20)]) {
      assert.equal(staleWillConn(p, false, 2), undefined, p.toString().slice(0, 40));
    }
  });
});
