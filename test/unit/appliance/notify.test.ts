/**
 * SystemdNotifier (sd_notify(3) protocol): transport choice, message text, fallback reporting.
 * The addon and systemd-notify are replaced by recording fakes.
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { sanitizeStatus, SystemdNotifier } from '../../../controller/app/notify';
import type { NativeAddon, NativeLoadResult } from '../../../firmware/native/loader';

function fakeAddon(sent: { socket: string; message: string }[], fail = false): NativeAddon {
  return {
    abiVersion: 1,
    notify(socket, message) {
      if (fail) throw Object.assign(new Error('notify: sendto failed: Connection refused (errno 111)'), { code: 'ENATIVE_ECONNREFUSED' });
      sent.push({ socket, message });
      return message.length;
    },
    mlock: () => undefined,
    munlock: () => undefined,
    wipe: (b) => void b.fill(0),
    setRealtime: () => undefined,
  };
}

const loaded = (addon: NativeAddon): NativeLoadResult => ({ addon, path: '/opt/tonewall/x.node', tried: [{ path: '/opt/tonewall/x.node', error: undefined }] });
const missing: NativeLoadResult = { addon: undefined, path: undefined, tried: [{ path: '/opt/tonewall/x.node', error: 'not found' }] };

describe('appliance: SystemdNotifier', () => {
  it('sends READY=1 with STATUS, WATCHDOG=1 and STOPPING=1 as datagrams through the native addon', () => {
    const sent: { socket: string; message: string }[] = [];
    const n = new SystemdNotifier({ log: nullLogger, native: loaded(fakeAddon(sent)), env: { NOTIFY_SOCKET: '/run/systemd/notify' } });
    assert.equal(n.transport, 'native');
    n.ready('card link up');
    n.watchdog();
    n.status('2 calls');
    n.stopping();
    assert.deepEqual(sent, [
      { socket: '/run/systemd/notify', message: 'READY=1\nSTATUS=card link up' },
      { socket: '/run/systemd/notify', message: 'WATCHDOG=1' },
      { socket: '/run/systemd/notify', message: 'STATUS=2 calls' },
      { socket: '/run/systemd/notify', message: 'STOPPING=1' },
    ]);
    assert.deepEqual(n.health(), { transport: 'native', addonLoaded: true, addonPath: '/opt/tonewall/x.node', addonError: undefined, sent: 4, failed: 0, lastError: undefined });
  });

  it('is disabled (no-op) without NOTIFY_SOCKET, even with the addon loaded', () => {
    const sent: { socket: string; message: string }[] = [];
    const n = new SystemdNotifier({ log: nullLogger, native: loaded(fakeAddon(sent)), env: {} });
    n.ready();
    n.watchdog();
    assert.equal(n.transport, 'disabled');
    assert.deepEqual(sent, []);
    assert.equal(n.health().addonLoaded, true);
  });

  it('falls back to systemd-notify --pid when the addon is absent, and reports why in health', async () => {
    const calls: string[][] = [];
    const n = new SystemdNotifier({ log: nullLogger, native: missing, env: { NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify' }, pid: 4242, spawnNotify: (args) => (calls.push(args), Promise.resolve()) });
    assert.equal(n.transport, 'systemd-notify');
    n.ready('up');
    n.watchdog();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, [['--pid=4242', 'READY=1', 'STATUS=up'], ['--pid=4242', 'WATCHDOG=1']]);
    const h = n.health();
    assert.equal(h.addonLoaded, false);
    assert.equal(h.addonError, '/opt/tonewall/x.node: not found');
    assert.equal(h.sent, 2);
  });

  it('counts failures of either transport without throwing', async () => {
    const native = new SystemdNotifier({ log: nullLogger, native: loaded(fakeAddon([], true)), env: { NOTIFY_SOCKET: '/run/systemd/notify' } });
    native.watchdog();
    assert.equal(native.health().failed, 1);
    assert.match(native.health().lastError ?? '', /Connection refused/);
    const spawned = new SystemdNotifier({ log: nullLogger, env: { NOTIFY_SOCKET: '/x' }, spawnNotify: () => Promise.reject(new Error('systemd-notify exited 1: No status data could be sent')) });
    spawned.ready();
    await new Promise((r) => setImmediate(r));
    assert.equal(spawned.health().failed, 1);
    assert.equal(spawned.health().addonError, 'loader not run');
  });

  it('keeps STATUS on one bounded line', () => {
    assert.equal(sanitizeStatus('a\nREADY=1\tb'), 'a READY=1 b');
    assert.equal(sanitizeStatus('x'.repeat(500)).length, 200);
  });
});
