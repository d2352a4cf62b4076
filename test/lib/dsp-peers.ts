/**
 * Peers for the DSP interop tests: SpanDSP (through a small C harness built here with gcc),
 * multimon-ng (through sox, which resamples to its 22050 Hz raw input), espeak-ng.
 *
 * A missing peer fails the test when CI is set (CI installs them) and skips it otherwise.
 * Built harnesses are cached under os.tmpdir() by a hash of their source, so an edit rebuilds.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const HARNESS_SOURCE = resolve(__dirname, '../../../test/interop/harness/spandsp-dtmf.c');

function which(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).status === 0;
}

/** Skips (or, under CI, fails) the running test when `ok` is false. */
export function requirePeer(ctx: Mocha.Context, ok: boolean, what: string): void {
  if (ok) return;
  if (process.env.CI) throw new Error(`${what} is missing (CI must install it)`);
  // eslint-disable-next-line no-console -- a skipped interop test says why
  console.log(`      skipped: ${what} is not installed`);
  ctx.skip();
}

export function hasSpanDsp(): boolean {
  return which('gcc') && spawnSync('pkg-config', ['--exists', 'spandsp']).status === 0;
}
export function hasMultimon(): boolean {
  return which('multimon-ng') && which('sox');
}
export function hasEspeak(): boolean {
  return which('espeak-ng') && which('sox');
}

let harnessPath: string | undefined;

/** Path of the SpanDSP harness, compiled on first use. */
export function spandspHarness(): string {
  if (harnessPath) return harnessPath;
  const source = readFileSync(HARNESS_SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'tonewall-harness-cache');
  const out = join(dir, `spandsp-dtmf-${hash}`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'spandsp'], { encoding: 'utf8' }).stdout.trim().split(/\s+/).filter(Boolean);
    const tmp = `${out}.${process.pid}`;
    const cc = spawnSync('gcc', ['-Wall', '-O2', '-o', tmp, HARNESS_SOURCE, ...flags, '-lm'], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc failed building ${HARNESS_SOURCE}: ${cc.stderr}`);
    renameSync(tmp, out);
  }
  harnessPath = out;
  return out;
}

function toBytes(samples: Int16Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

export interface PeerDigit {
  digit: string;
  start: number;
  end: number;
}

export interface SpanDspParams {
  twistDb?: number;
  reverseTwistDb?: number;
  thresholdDbm0?: number;
}

/** Digits SpanDSP's dtmf_rx finds in 8 kHz linear audio. */
export function spandspDetect(samples: Int16Array, params: SpanDspParams = {}): PeerDigit[] {
  const args = ['detect', String(params.twistDb ?? 0), String(params.reverseTwistDb ?? 0), String(params.thresholdDbm0 ?? 0)];
  const r = spawnSync(spandspHarness(), args, { input: toBytes(samples), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`spandsp harness exited ${r.status}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [digit, start, end] = line.split(' ');
      return { digit: digit ?? '?', start: Number(start), end: Number(end) };
    });
}

/** SpanDSP's G.711 tables: µ-law and A-law codes for every input, and both decode tables. */
export function spandspG711(): { ulaw: Uint8Array; alaw: Uint8Array; ulawDecode: Int16Array; alawDecode: Int16Array } {
  const r = spawnSync(spandspHarness(), ['g711'], { maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`spandsp harness exited ${r.status}`);
  const b = r.stdout;
  const dec = new Int16Array(512);
  for (let i = 0; i < 512; i++) dec[i] = b.readInt16LE(131072 + 2 * i);
  return { ulaw: b.subarray(0, 65536), alaw: b.subarray(65536, 131072), ulawDecode: dec.subarray(0, 256), alawDecode: dec.subarray(256) };
}

/** SpanDSP's dtmf_rx speed on this machine, samples per second of one core. */
export function spandspBench(samples: Int16Array, seconds: number): number {
  const r = spawnSync(spandspHarness(), ['bench', String(seconds)], { input: toBytes(samples), encoding: 'utf8', maxBuffer: 1 << 24 });
  const m = /samples_per_second (\d+)/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`spandsp bench failed: ${r.stderr}`);
  return Number(m[1]);
}

/** Digits multimon-ng's DTMF decoder finds (input resampled to 22050 Hz by sox). */
export function multimonDetect(samples: Int16Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'tonewall-multimon-'));
  try {
    const raw8k = join(dir, 'in.raw');
    const raw22k = join(dir, 'in22.raw');
    spawnSync('sh', ['-c', 'cat > "$1"', 'sh', raw8k], { input: toBytes(samples) });
    const sox = spawnSync('sox', ['-t', 'raw', '-r', '8000', '-e', 'signed-integer', '-b', '16', '-c', '1', raw8k, '-t', 'raw', '-r', '22050', raw22k], { encoding: 'utf8' });
    if (sox.status !== 0) throw new Error(`sox failed: ${sox.stderr}`);
    const mm = spawnSync('multimon-ng', ['-q', '-c', '-a', 'DTMF', '-t', 'raw', raw22k], { encoding: 'utf8' });
    if (mm.status !== 0) throw new Error(`multimon-ng exited ${mm.status}: ${mm.stderr}`);
    return mm.stdout
      .split('\n')
      .map((l) => /^DTMF: (.)/.exec(l)?.[1] ?? '')
      .join('');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Speech from espeak-ng as 8 kHz linear samples (resampled by sox). */
export function espeak(text: string, voice: string): Int16Array {
  const dir = mkdtempSync(join(tmpdir(), 'tonewall-espeak-'));
  try {
    const wav = join(dir, 'speech.wav');
    const raw = join(dir, 'speech.raw');
    const e = spawnSync('espeak-ng', ['-v', voice, '-s', '165', '-w', wav, text], { encoding: 'utf8' });
    if (e.status !== 0) throw new Error(`espeak-ng -v ${voice} exited ${e.status}: ${e.stderr}`);
    const s = spawnSync('sox', [wav, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-t', 'raw', raw], { encoding: 'utf8' });
    if (s.status !== 0) throw new Error(`sox failed: ${s.stderr}`);
    const b = readFileSync(raw);
    const out = new Int16Array(b.length >> 1);
    for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(2 * i);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
