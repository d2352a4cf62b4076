/**
 * Writes LAPD frames to a classic pcap with link type 177 (LINUX_LAPD: a 16-byte header giving the
 * direction and whether the capturing side is the network, test-peers.md §6), and reads them back
 * through tshark.
 */
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PcapFrame {
  /** true when the capturing side sent the frame. */
  sent: boolean;
  frame: Buffer;
  atMs: number;
}

export function writeLapdPcap(path: string, frames: PcapFrame[], capturingSideIsNetwork: boolean): void {
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(177, 20);
  const parts: Buffer[] = [global];
  for (const f of frames) {
    const sll = Buffer.alloc(16);
    sll.writeUInt16BE(f.sent ? 4 : 0, 0);
    sll.writeUInt16BE(0, 2);
    sll.writeUInt16BE(1, 4);
    sll[6] = capturingSideIsNetwork ? 1 : 0;
    sll.writeUInt16BE(0x0030, 14);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(f.atMs / 1000), 0);
    rec.writeUInt32LE(Math.floor(f.atMs % 1000) * 1000, 4);
    rec.writeUInt32LE(16 + f.frame.length, 8);
    rec.writeUInt32LE(16 + f.frame.length, 12);
    parts.push(rec, sll, Buffer.from(f.frame));
  }
  writeFileSync(path, Buffer.concat(parts));
}

export function hasTshark(): boolean {
  return spawnSync('sh', ['-c', 'command -v tshark'], { encoding: 'utf8' }).status === 0;
}

/** tshark fields (tab separated rows) for packets matching `filter`. */
export function tsharkFields(path: string, filter: string, fields: string[]): string[][] {
  const args = ['-r', path, '-Y', filter, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])];
  const r = spawnSync('tshark', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tshark exited ${r.status}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

/**
 * Writes the frames of a run to a temporary pcap and asserts that tshark decodes every one of them as
 * LAPD with no malformed packet and no expert error.
 */
export function assertTsharkDecodesAll(frames: PcapFrame[], capturingSideIsNetwork: boolean, what: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'tonewall-isdn-pcap-'));
  try {
    const file = join(dir, 'lapd.pcap');
    writeLapdPcap(file, frames, capturingSideIsNetwork);
    assert.deepEqual(tsharkFields(file, '_ws.malformed || _ws.expert.severity >= "error"', ['frame.number']), [], `${what}: tshark found malformed frames`);
    const all = tsharkFields(file, 'lapd', ['frame.number']);
    assert.equal(all.length, frames.length, `${what}: tshark decoded ${all.length} of ${frames.length} frames as LAPD`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
