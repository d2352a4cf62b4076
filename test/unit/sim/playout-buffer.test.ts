import assert from 'node:assert/strict';
import { PlayoutBuffer } from '../../../hw/sim/playout-buffer';

describe('sim playout buffer (card-link §3.4)', () => {
  it('plays out in order, 80 bytes per take, splitting and joining chunks', () => {
    const b = new PlayoutBuffer(400);
    b.push(Buffer.alloc(50, 1));
    b.push(Buffer.alloc(50, 2));
    b.push(Buffer.alloc(80, 3));
    assert.deepEqual([...(b.take(80) ?? [])], [...Buffer.alloc(50, 1), ...Buffer.alloc(30, 2)]);
    assert.deepEqual([...(b.take(80) ?? [])], [...Buffer.alloc(20, 2), ...Buffer.alloc(60, 3)]);
    assert.deepEqual([...(b.take(80) ?? [])], [...Buffer.alloc(20, 3)]);
    assert.equal(b.bufferedBytes, 0);
  });

  it('counts an overrun and drops the whole chunk that does not fit', () => {
    const b = new PlayoutBuffer(160);
    assert.equal(b.push(Buffer.alloc(80)), true);
    assert.equal(b.push(Buffer.alloc(80)), true);
    assert.equal(b.push(Buffer.alloc(1)), false);
    assert.equal(b.overruns, 1);
    assert.equal(b.bufferedBytes, 160);
  });

  it('counts underruns only after audio has started, and not again after clear()', () => {
    const b = new PlayoutBuffer(160);
    assert.equal(b.take(80), undefined);
    assert.equal(b.underruns, 0);
    b.push(Buffer.alloc(80));
    b.take(80);
    assert.equal(b.take(80), undefined);
    assert.equal(b.underruns, 1);
    b.clear();
    b.take(80);
    assert.equal(b.underruns, 1);
  });
});
