/**
 * SpanDSP's ADSI transmitter and receiver for the caller ID interop tests, through the C harness
 * test/interop/harness/spandsp-adsi.c, built with gcc into a cache under os.tmpdir() keyed by a hash of
 * its source (rebuilt when it changes), as test/lib/dsp-peers.ts does for the DTMF harness.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SOURCE = resolve(__dirname, '../../../test/interop/harness/spandsp-adsi.c');
let built: string | undefined;

export function adsiHarness(): string {
  if (built) return built;
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'tonewall-harness-cache');
  const out = join(dir, `spandsp-adsi-${hash}`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'spandsp'], { encoding: 'utf8' }).stdout.trim().split(/\s+/).filter(Boolean);
    const tmp = `${out}.${process.pid}`;
    const cc = spawnSync('gcc', ['-Wall', '-O2', '-o', tmp, SOURCE, ...flags, '-lm'], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc failed building ${SOURCE}: ${cc.stderr}`);
    renameSync(tmp, out);
  }
  built = out;
  return out;
}

export type AdsiStandard = 'class' | 'clip' | 'dtmf';

/** SpanDSP's adsi_tx audio (8 kHz linear) for one caller ID message; '-' leaves a field out. */
export function spandspCallerIdAudio(standard: AdsiStandard, format: 'sdmf' | 'mdmf' | 'c' | 'hash', dateTime: string, number: string, name: string): Int16Array {
  const r = spawnSync(adsiHarness(), ['tx', standard, format, dateTime, number, name], { maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`spandsp-adsi tx exited ${r.status}: ${r.stderr.toString()}`);
  const buf = Buffer.from(r.stdout);
  return new Int16Array(buf.buffer, buf.byteOffset, buf.length / 2);
}

/** The messages SpanDSP's adsi_rx delivers from 8 kHz linear audio (FSK: type, length, body without checksum). */
export function spandspReceive(standard: AdsiStandard, samples: Int16Array): Buffer[] {
  const r = spawnSync(adsiHarness(), ['rx', standard], { input: Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`spandsp-adsi rx exited ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((h) => Buffer.from(h, 'hex'));
}
