import assert from 'node:assert/strict';
import { SequenceTracker } from '../../../hw/link/sequence-tracker';

describe('SequenceTracker (docs/card-link.md §2 sequence numbers)', () => {
  it('counts no loss for consecutive numbers, including across the 65535 → 0 wrap', () => {
    const t = new SequenceTracker();
    for (const s of [65533, 65534, 65535, 0, 1, 2]) assert.equal(t.observe(s), 0);
    assert.equal(t.framesLost, 0);
  });

  it('counts the frames missing in a forward gap, also when the gap spans the wrap', () => {
    const t = new SequenceTracker();
    t.observe(10);
    assert.equal(t.observe(13), 2);
    assert.equal(t.observe(30000), 30000 - 14);
    assert.equal(t.framesLost, 2 + 30000 - 14);
    const u = new SequenceTracker();
    u.observe(65534);
    assert.equal(u.observe(1), 2);
  });

  it('treats a backward step as a restart, not as loss', () => {
    const t = new SequenceTracker();
    t.observe(500);
    assert.equal(t.observe(3), 0);
    assert.equal(t.restarts, 1);
    assert.equal(t.observe(4), 0);
    assert.equal(t.framesLost, 0);
  });

  it('starts afresh after reset', () => {
    const t = new SequenceTracker();
    t.observe(100);
    t.reset();
    assert.equal(t.observe(0), 0);
    assert.equal(t.framesLost, 0);
  });
});
