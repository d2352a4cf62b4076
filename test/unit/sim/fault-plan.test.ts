import assert from 'node:assert/strict';
import { parseFault } from '../../../hw/sim/fault-plan';

describe('sim fault plan (tonewall sim --fault KIND[:SPAN]@START[+DURATION])', () => {
  it('parses kinds, spans, times in ms / s / m and optional durations', () => {
    assert.deepEqual(parseFault('los@10s+5s'), { kind: 'los', span: 1, atMs: 10_000, durationMs: 5000 });
    assert.deepEqual(parseFault('dchan:2@500ms'), { kind: 'dchan', span: 2, atMs: 500, durationMs: undefined });
    assert.deepEqual(parseFault('reset@1.5m'), { kind: 'reset', span: 1, atMs: 90_000, durationMs: undefined });
  });

  it('refuses a bad spec with what was expected', () => {
    assert.throws(() => parseFault('los'), /fault "los" is not KIND\[:SPAN\]@START\[\+DURATION\]/);
    assert.throws(() => parseFault('flood@1s'), /kind "flood" is not one of los, lof, ais, rai, dchan, crc, slip, garbage, reset/);
    assert.throws(() => parseFault('los@10'), /time "10" is not a number with ms, s or m/);
    assert.throws(() => parseFault('los:9@1s'), /span 9 is not 1\.\.8/);
  });
});
