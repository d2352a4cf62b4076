/**
 * The native addon for this machine's architecture (firmware/native, built by
 * `npm run build:native`), loaded through the documented loader: a real notify datagram reaches a
 * unix datagram socket (socat as the receiver, standing in for systemd), the abstract namespace
 * works, errors carry errno codes, and wipe zeroes a Buffer in place.
 * Without the build (or socat) the test fails under CI and skips otherwise.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadNativeAddon, type NativeAddon } from '../../../firmware/native/loader';
import { SystemdNotifier } from '../../../controller/app/notify';
import { nullLogger } from '../../../hw/base/logger';
import { secureAlloc, secureRelease, useSecureMemory } from '../../../hw/base/secure-memory';
import { hasBinary, makeTempDir, stopChild } from '../../lib/sip-peers';

/** socat receiving datagrams on `address` (UNIX-RECV), each datagram written to stdout. */
async function receiver(address: string, path?: string): Promise<{ next(): Promise<string>; stop(): Promise<void> }> {
  const child = spawn('socat', ['-u', address, 'STDOUT'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  let wake: (() => void) | undefined;
  child.stdout.on('data', (d: Buffer) => {
    chunks.push(d.toString('utf8'));
    wake?.();
  });
  // Wait until the socket exists (file path) or socat has had time to bind (abstract name).
  for (let i = 0; i < 200 && path && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 10));
  if (!path) await new Promise((r) => setTimeout(r, 200));
  return {
    async next() {
      while (chunks.length === 0) await new Promise<void>((r) => (wake = r));
      return chunks.shift() ?? '';
    },
    stop: () => stopChild(child),
  };
}

describe('appliance: native addon (this machine)', function () {
  let addon: NativeAddon;
  let dir: string;

  before(function () {
    const r = loadNativeAddon();
    if (!r.addon || !hasBinary('socat')) {
      if (process.env['CI']) throw new Error(`native addon or socat missing (run npm run build:native): ${JSON.stringify(r.tried)}`);
      this.skip();
    }
    addon = r.addon;
    dir = makeTempDir('native');
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('locks the card-data arena with mlock and wipes released slots with explicit_bzero', () => {
    try {
      const s = useSecureMemory(addon);
      assert.equal(s.backend, 'native');
      assert.equal(s.locked, true, `mlock failed: ${s.lockError ?? ''} (RLIMIT_MEMLOCK too low?)`);
      const b = secureAlloc(16);
      b.fill(0x35);
      secureRelease(b);
      assert.ok(b.every((x) => x === 0));
    } finally {
      useSecureMemory(undefined);
    }
  });

  it('sends READY=1 and WATCHDOG=1 datagrams to a path socket through SystemdNotifier', async () => {
    const path = join(dir, 'notify.sock');
    const rx = await receiver(`UNIX-RECV:${path}`, path);
    try {
      const n = new SystemdNotifier({ log: nullLogger, native: loadNativeAddon(), env: { NOTIFY_SOCKET: path } });
      assert.equal(n.transport, 'native');
      n.ready('card link up');
      assert.equal(await rx.next(), 'READY=1\nSTATUS=card link up');
      n.watchdog();
      assert.equal(await rx.next(), 'WATCHDOG=1');
      assert.equal(n.health().failed, 0);
    } finally {
      await rx.stop();
    }
  });

  it('reaches an abstract-namespace socket ("@name")', async () => {
    const name = `tonewall-test-${process.pid}-${Date.now()}`;
    const rx = await receiver(`ABSTRACT-RECV:${name}`);
    try {
      assert.equal(addon.notify(`@${name}`, 'STOPPING=1'), 'STOPPING=1'.length);
      assert.equal(await rx.next(), 'STOPPING=1');
    } finally {
      await rx.stop();
    }
  });

  it('throws errors with errno codes naming the call', () => {
    assert.throws(() => addon.notify(join(dir, 'absent.sock'), 'READY=1'), (e: Error & { code?: string }) => e.code === 'ENATIVE_ENOENT' && /sendto/.test(e.message));
    assert.throws(() => addon.notify('relative', 'READY=1'), (e: Error & { code?: string }) => e.code === 'ENATIVE_ARG');
    assert.throws(() => addon.setRealtime(0), (e: Error & { code?: string }) => e.code === 'ENATIVE_ARG');
  });

  it('locks, wipes and unlocks a Buffer in place', () => {
    const buf = Buffer.alloc(4096, 0x35);
    addon.mlock(buf);
    addon.wipe(buf);
    addon.munlock(buf);
    assert.ok(buf.every((b) => b === 0));
    assert.throws(() => addon.wipe('not a buffer' as unknown as Buffer), (e: Error & { code?: string }) => e.code === 'ENATIVE_ARG');
  });
});
