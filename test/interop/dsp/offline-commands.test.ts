/**
 * `tonewall mask` and `tonewall detect` on WAV files written and read by sox (an independent WAV
 * implementation): PCM, µ-law and A-law, single files and a directory in one process. The masked
 * output keeps the encoding and the sample count, is delayed by the lookahead, and no detector
 * (ours, SpanDSP) finds a digit in it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as runMask } from '../../../controller/app/commands/mask';
import { run as runDetect } from '../../../controller/app/commands/detect';
import { maskRecording } from '../../../controller/dsp/offline-mask';
import { formatWav, parseWav } from '../../../controller/dsp/wav-codec';
import type { DtmfDigit } from '../../../controller/dsp/tone-generator';
import { hasSpanDsp, requirePeer, spandspDetect } from '../../lib/dsp-peers';
import { dtmfSequence } from '../../lib/dsp-signals';

function hasSox(): boolean {
  return spawnSync('sh', ['-c', 'command -v sox']).status === 0;
}

/* eslint-disable no-console -- the commands talk to the console; the test captures it */
/** Runs a command with console.log/error captured. */
async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    const code = await fn();
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}
/* eslint-enable no-console */

describe('offline commands: tonewall mask / tonewall detect (WAV via sox)', function () {
  this.timeout(60_000);
  let dir = '';
  const seq = dtmfSequence(('4111111111111111'.split('') as DtmfDigit[]).map((digit) => ({ digit, durationMs: 70 })), 70);

  beforeEach(function () {
    requirePeer(this, hasSox(), 'sox');
    dir = mkdtempSync(join(tmpdir(), 'tonewall-offline-'));
    mkdirSync(join(dir, 'in'));
    const pcm = join(dir, 'in', 'pcm.wav');
    writeFileSync(pcm, formatWav({ encoding: 'pcm16', samples: seq.samples }));
    for (const [name, enc] of [['ulaw.wav', 'u-law'], ['alaw.wav', 'a-law']]) {
      const r = spawnSync('sox', [pcm, '-e', enc as string, join(dir, 'in', name as string)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('detect prints every digit with start and end times, for a directory in one run (text and --json)', async () => {
    const text = await capture(() => runDetect([join(dir, 'in')]));
    assert.equal(text.code, 0, text.err);
    assert.equal((text.out.match(/ digit\(s\) in /g) ?? []).length, 3);
    const json = await capture(() => runDetect([join(dir, 'in'), '--json']));
    const reports = JSON.parse(json.out) as { file: string; digits: { digit: string; startMs: number; endMs: number }[] }[];
    assert.equal(reports.length, 3);
    for (const r of reports) {
      assert.equal(r.digits.map((d) => d.digit).join(''), '4111111111111111', r.file);
      const first = r.digits[0];
      assert.ok(first && Math.abs(first.startMs - 70) <= 5 && Math.abs(first.endMs - 140) <= 5, JSON.stringify(first));
    }
  });

  it('mask writes what the live uplink would send: same encoding and length, nothing detectable, sox reads it', async function () {
    const r = await capture(() => runMask([join(dir, 'in'), join(dir, 'out'), '--style', 'flat', '--lookahead-ms', '20']));
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /4111/, 'the summary never shows digits');
    for (const name of ['pcm.wav', 'ulaw.wav', 'alaw.wav']) {
      const input = parseWav(readFileSync(join(dir, 'in', name)));
      const output = parseWav(readFileSync(join(dir, 'out', name)));
      assert.equal(output.encoding, input.encoding, name);
      assert.equal(output.samples.length, input.samples.length, name);
      const live = maskRecording(input.samples, { style: 'flat', lookaheadMs: 20 }).output;
      const expected = parseWav(formatWav({ encoding: input.encoding, samples: live })).samples;
      assert.deepEqual(Array.from(output.samples), Array.from(expected), `${name}: same as the live path`);
      const soxi = spawnSync('sox', ['--i', '-s', join(dir, 'out', name)], { encoding: 'utf8' });
      assert.equal(soxi.stdout.trim(), String(input.samples.length));
      if (hasSpanDsp()) assert.deepEqual(spandspDetect(output.samples), [], name);
    }
    const again = await capture(() => runDetect([join(dir, 'out'), '--json']));
    for (const rep of JSON.parse(again.out) as { digits: unknown[] }[]) assert.deepEqual(rep.digits, []);
    if (!hasSpanDsp()) requirePeer(this, false, 'SpanDSP');
  });

  it('refuses bad usage with exit code 2 and a message naming the problem', async () => {
    assert.equal((await capture(() => runMask([join(dir, 'in')]))).code, 2);
    const style = await capture(() => runMask([join(dir, 'in'), join(dir, 'o'), '--style', 'loud']));
    assert.equal(style.code, 2);
    assert.match(style.err, /mask style "loud"/);
    assert.equal((await capture(() => runDetect([]))).code, 2);
    const bad = join(dir, 'bad.wav');
    writeFileSync(bad, 'not a wav');
    const r = await capture(() => runDetect([bad]));
    assert.equal(r.code, 1);
    assert.match(r.err, /not a RIFF\/WAVE file/);
  });
});
