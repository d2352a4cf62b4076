import assert from 'node:assert/strict';
import { JitterBuffer } from '../../../controller/media/jitter-buffer';

const SIL = 0xff;

function frame(value: number, len = 160): Buffer {
  return Buffer.alloc(len, value);
}

/** Pulls `n` 10 ms blocks and returns their first bytes (one value per block). */
function pullBlocks(jb: JitterBuffer, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const b = jb.pull(80);
    assert.equal(b.length, 80);
    out.push(b[0] ?? -1);
  }
  return out;
}

describe('downlink jitter buffer', () => {
  it('prefills to the target depth (40 ms) before playing, then plays 10 ms per pull', () => {
    const jb = new JitterBuffer({ silenceByte: SIL, targetDepthMs: 40 });
    jb.push(1000, frame(1));
    assert.deepEqual(pullBlocks(jb, 1), [SIL]);
    jb.push(1160, frame(2));
    assert.deepEqual(pullBlocks(jb, 4), [1, 1, 2, 2]);
  });

  it('reorders packets that arrive out of order by timestamp', () => {
    const jb = new JitterBuffer({ silenceByte: SIL, targetDepthMs: 40 });
    jb.push(160, frame(2));
    jb.push(0, frame(1));
    jb.push(320, frame(3));
    assert.deepEqual(pullBlocks(jb, 6), [1, 1, 2, 2, 3, 3]);
  });

  it('conceals a lost packet with silence and counts it', () => {
    const jb = new JitterBuffer({ silenceByte: SIL, targetDepthMs: 20 });
    jb.push(0, frame(1));
    jb.push(320, frame(3));
    assert.deepEqual(pullBlocks(jb, 6), [1, 1, SIL, SIL, 3, 3]);
    assert.equal(jb.counters.concealedSamples, 160);
  });

  it('drops duplicates and late packets (already played) and counts them', () => {
    const jb = new JitterBuffer({ silenceByte: SIL, targetDepthMs: 20 });
    jb.push(0, frame(1));
    assert.equal(jb.push(0, frame(9)), 'duplicate');
    pullBlocks(jb, 2);
    assert.equal(jb.push(0, frame(9)), 'late');
    assert.deepEqual(jb.counters, { pushed: 1, late: 1, duplicates: 1, concealedSamples: 0, underruns: 0, droppedSamples: 0 });
  });

  it('running dry counts an underrun, plays silence and prefills again', () => {
    const jb = new JitterBuffer({ silenceByte: SIL, targetDepthMs: 20 });
    jb.push(0, frame(1));
    assert.deepEqual(pullBlocks(jb, 3), [1, 1, SIL]);
    assert.equal(jb.counters.underruns, 1);
    assert.equal(jb.isPlaying, false);
    jb.push(480, frame(4, 80));
    assert.deepEqual(pullBlocks(jb, 1), [SIL], 'still prefilling: 10 ms < 20 ms');
    jb.push(560, frame(5, 80));
    assert.deepEqual(pullBlocks(jb, 2), [4, 5]);
  });

  it('absorbs clock drift: beyond the maximum depth the oldest audio is dropped back to the target', () => {
    const jb = new JitterBuffer({ silenceByte: SIL, targetDepthMs: 40, maxDepthMs: 100 });
    for (let i = 0; i < 10; i++) jb.push(i * 160, frame(i + 1));
    assert.ok(jb.depthSamples <= 800, `depth ${jb.depthSamples} within max`);
    assert.ok(jb.counters.droppedSamples > 0);
    const blocks = pullBlocks(jb, 4);
    assert.deepEqual(blocks, [9, 9, 10, 10], 'plays the newest 40 ms');
  });

  it('handles the 32-bit timestamp wrap', () => {
    const jb = new JitterBuffer({ silenceByte: SIL, targetDepthMs: 20 });
    jb.push(0xffffff60, frame(1));
    jb.push(0, frame(2));
    assert.deepEqual(pullBlocks(jb, 4), [1, 1, 2, 2]);
  });
});
