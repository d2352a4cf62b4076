/**
 * ownStatusKind (retained-state.ts): which messages on the device's own `status` are its own online
 * coming back, and which are an older connection's offline that the device may have to overwrite.
 */
import assert from 'node:assert/strict';
import { ownStatusKind } from '../../../controller/fleet/retained-state';

const status = (state: string, conn: unknown): Buffer => Buffer.from(JSON.stringify({ v: 1, ts: 1, dev: 'd1', boot: 'b', conn, seq: 1, state, reason: 'lwt', fw: '1.0.0', slot: 'A' }));

describe('late-will self-heal decision', () => {
  it('a live offline of an older conn is stale-offline (with its conn)', () => {
    assert.deepEqual(ownStatusKind(status('offline', 1), false, 2), { kind: 'stale-offline', conn: 1 });
    assert.deepEqual(ownStatusKind(status('offline', 5), false, 9), { kind: 'stale-offline', conn: 5 });
  });
  it("this connection's own live online is the echo", () => {
    assert.deepEqual(ownStatusKind(status('online', 2), false, 2), { kind: 'online-echo' });
  });
  it('the current or a newer conn offline, an older online, are neither', () => {
    assert.equal(ownStatusKind(status('offline', 2), false, 2), undefined);
    assert.equal(ownStatusKind(status('offline', 3), false, 2), undefined);
    assert.equal(ownStatusKind(status('online', 1), false, 2), undefined);
  });
  it('a message flagged retained (stored before this session subscribed) is neither', () => {
    assert.equal(ownStatusKind(status('offline', 1), true, 2), undefined);
    assert.equal(ownStatusKind(status('online', 2), true, 2), undefined);
  });
  it('garbage, empty, non-integer conn are ignored', () => {
    for (const p of [Buffer.alloc(0), Buffer.from('not json'), Buffer.from('null'), Buffer.from('[1]'), status('offline', '1'), status('offline', 1.5), Buffer.alloc(5000, 0x20)]) {
      assert.equal(ownStatusKind(p, false, 2), undefined, p.toString().slice(0, 40));
    }
  });
});
