import assert from 'node:assert/strict';
import type { Clock } from '../../../hw/base/clock';
import { EnvelopeSource } from '../../../controller/fleet/envelope';

const clock = (t: number): Clock => ({ now: () => t, monotonicMs: () => t, setTimeout: () => ({ cancel: () => undefined }), setInterval: () => ({ cancel: () => undefined }) });

describe('fleet/envelope (DESIGN.md §6 {v, ts, dev, boot, conn, seq})', () => {
  it('stamps v=1, ts from the clock, dev, boot, the current conn, and seq from 1', () => {
    const env = new EnvelopeSource('tw-a-1', clock(1234), 'boot-1');
    env.conn = 7;
    assert.deepEqual(env.next(), { v: 1, ts: 1234, dev: 'tw-a-1', boot: 'boot-1', conn: 7, seq: 1 });
    assert.equal(env.next(9).conn, 9);
    assert.equal(env.lastSeq, 2);
  });

  it('seq is monotonic per boot across all payloads and does not wrap at 255', () => {
    const env = new EnvelopeSource('d', clock(1));
    let last = 0;
    for (let i = 0; i < 1000; i++) {
      const s = env.next().seq;
      assert.equal(s, last + 1);
      last = s;
    }
  });

  it('a new process start has a new boot id (UUID)', () => {
    const a = new EnvelopeSource('d', clock(1));
    const b = new EnvelopeSource('d', clock(1));
    assert.notEqual(a.boot, b.boot);
    assert.match(a.boot, /^[0-9a-f-]{36}$/);
  });

  it('wrap puts the envelope first and a body cannot override it', () => {
    const env = new EnvelopeSource('d', clock(5), 'b');
    const w = env.wrap({ state: 'online', seq: 999, dev: 'evil' } as { state: string });
    assert.deepEqual(Object.keys(w).slice(0, 6), ['v', 'ts', 'dev', 'boot', 'conn', 'seq']);
    assert.equal(w.dev, 'd');
    assert.equal(w.seq, 1);
    assert.equal(w.state, 'online');
  });
});
