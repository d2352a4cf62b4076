/**
 * MF R1 against SpanDSP's Bell MF (R1) code (libspandsp bell_mf_tx / bell_mf_rx, ITU-T Q.320/Q.322,
 * through test/interop/harness/spandsp-mf.c built here with gcc): SpanDSP's receiver decodes every
 * signal our generator sends (and an address at 5 dB twist and −20 dBm0), and our receiver decodes
 * every signal SpanDSP's generator sends. SpanDSP writes KP as '*', ST as '#', ST'/ST''/ST''' as A/B/C.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { detectMfR1, mfR1Address, mfR1Signals, type MfSignal } from '../../../controller/dsp/mf-r1';
import { hasSpanDsp, requirePeer } from '../../lib/dsp-peers';

const SOURCE = resolve(__dirname, '../../../../test/interop/harness/spandsp-mf.c');
const TO_SPANDSP: Readonly<Record<MfSignal, string>> = { '0': '0', '1': '1', '2': '2', '3': '3', '4': '4', '5': '5', '6': '6', '7': '7', '8': '8', '9': '9', KP: '*', ST: '#', "ST'": 'A', "ST''": 'B', "ST'''": 'C' };
const ALL = Object.keys(TO_SPANDSP) as MfSignal[];

function harness(): string {
  const src = readFileSync(SOURCE);
  const dir = join(tmpdir(), 'tonewall-harness-cache');
  const out = join(dir, `spandsp-mf-${createHash('sha256').update(src).digest('hex').slice(0, 16)}`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'spandsp'], { encoding: 'utf8' }).stdout.trim().split(/\s+/).filter(Boolean);
    const tmp = `${out}.${process.pid}`;
    const cc = spawnSync('gcc', ['-Wall', '-O2', '-o', tmp, SOURCE, ...flags, '-lm'], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc failed building ${SOURCE}: ${cc.stderr}`);
    renameSync(tmp, out);
  }
  return out;
}

function spandspRx(samples: Int16Array): string {
  const r = spawnSync(harness(), ['rx'], { input: Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`spandsp-mf rx exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

function spandspTx(signals: string): Int16Array {
  const r = spawnSync(harness(), ['tx', signals], { maxBuffer: 1 << 22 });
  if (r.status !== 0) throw new Error(`spandsp-mf tx exited ${r.status}`);
  const b = Buffer.from(r.stdout);
  return new Int16Array(b.buffer, b.byteOffset, Math.floor(b.length / 2));
}

describe('interop: MF R1 with SpanDSP (bell_mf_tx / bell_mf_rx)', function () {
  this.timeout(30000);
  before(function () {
    requirePeer(this, hasSpanDsp(), 'gcc and libspandsp-dev');
  });

  it("SpanDSP's receiver decodes all 15 signals our generator sends, and an address at 5 dB twist and −20 dBm0", () => {
    assert.equal(spandspRx(mfR1Signals(ALL)), ALL.map((s) => TO_SPANDSP[s]).join(''));
    assert.equal(spandspRx(mfR1Address('8005550123', { twistDb: 5, levelDbm0: -20 })), '*8005550123#');
  });

  it("our receiver decodes all 15 signals SpanDSP's generator sends, with SpanDSP's timing (KP 100 ms, others 68 ms)", () => {
    const events = detectMfR1(spandspTx(ALL.map((s) => TO_SPANDSP[s]).join('')));
    assert.deepEqual(events.map((e) => e.signal), ALL);
    const kp = events.find((e) => e.signal === 'KP');
    assert.ok(kp && kp.durationMs >= 90 && kp.durationMs <= 110, `KP ${kp?.durationMs} ms`);
  });
});
