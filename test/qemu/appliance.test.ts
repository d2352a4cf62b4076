/**
 * The whole appliance on QEMU (issue 8; `npm run test:qemu`): the arm64 image boots under
 * qemu-system-aarch64 (virt, TCG), systemd starts tonewall (Type=notify), and from the host:
 *   - MQTT (mosquitto on 127.0.0.1, reached by the guest as 10.0.2.2): `status` online, `info`
 *     from an arm64 build; the arm64 native addon loads in the guest;
 *   - a call from the simulated PSTN (the host's simulated card on the guest's serial port) reaches
 *     sipp (UAS with RTP echo) and audio goes both ways (what the caller sent comes back);
 *   - SIGKILL of tonewall in the guest: systemd restarts it and the retained status recovers;
 *   - the card link stops: the daemon declares the link down (journal; there is no alarm API yet).
 * Timings printed: image build, boot to READY=1, call setup.
 *
 * Needs root (mmdebstrap, binfmt), the recipe's packages, mosquitto and sipp: missing ones fail
 * under CI and skip otherwise.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger, jsonSink } from '../../hw/base/logger';
import { runSimulator, type SimulatorHandle } from '../../hw/sim/run-simulator';
import type { PstnCall } from '../../hw/sim/pstn-call';
import { decode } from '../../controller/media/g711';
import { startMosquitto, type Mosquitto } from '../lib/mosquitto';
import { freeUdpPort, hasBinary, makeTempDir, stopChild } from '../lib/sip-peers';
import { startSippForGuest, type GuestSipp } from './sipp-guest';
import { QemuGuest } from './qemu-guest';

const REPO = resolve(__dirname, '../../..');
const DEVICE = 'tw-qemu-0001';
const TOOLS = ['qemu-system-aarch64', 'qemu-img', 'mmdebstrap', 'mke2fs', 'aarch64-linux-gnu-gcc', 'mosquitto', 'sipp'];

/**
 * In the guest: our sysfs backend over onoff on the virt board's PL061 (gpiochip512): line 0 as an
 * output must read back what was written; line 3 (QEMU's power button) must show the pulse the
 * host makes with QMP system_powerdown.
 */
const GPIO_PROBE_JS = `const { Gpio } = require('/opt/tonewall/node_modules/onoff');
const { OnoffBackend } = require('/opt/tonewall/dist/hw/gpio/onoff-backend');
const b = new OnoffBackend(Gpio, (n, e) => console.log('ERR', n, e.message));
const out = b.open({ name: 'transfer-relay', line: 512, direction: 'out' });
out.write(1); const r1 = out.read(); out.write(0); const r0 = out.read(); out.close();
console.log('OUT', r1, r0);
const btn = b.open({ name: 'button', line: 515, direction: 'in', edge: 'both' });
btn.watch((v) => { console.log('EDGE', v); if (v === 0) { btn.close(); process.exit(0); } });
console.log('WATCHING');
setTimeout(() => { console.log('NO-EDGE'); process.exit(1); }, 90000);
`;

/** Runs the probe with the [Service] sandbox of tonewall.service: same user, groups, device and sysfs limits. */
const GPIO_PROBE_SH = `set -eu
args=()
while IFS= read -r line; do args+=(-p "$line"); done < <(sed -n '/^\\[Service\\]/,/^\\[Install\\]/p' /etc/systemd/system/tonewall.service |
  grep -E '^(User|Group|SupplementaryGroups|NoNewPrivileges|CapabilityBoundingSet|ProtectSystem|ProtectHome|PrivateTmp|DevicePolicy|DeviceAllow|ProtectKernelTunables|ReadWritePaths|ProtectKernelModules|ProtectKernelLogs|ProtectControlGroups|ProtectHostname|ProtectProc|ProcSubset|RestrictAddressFamilies|RestrictNamespaces|RestrictSUIDSGID|LockPersonality|SystemCallArchitectures|SystemCallFilter|UMask)=')
exec systemd-run --quiet --wait --pipe --unit=tonewall-gpio-probe "\${args[@]}" /usr/bin/node /usr/local/lib/tonewall-test/gpio-probe.js
`;

interface Seen {
  topic: string;
  retain: boolean;
  body: Record<string, unknown> | null;
  atMs: number;
}

const timings: [string, number][] = [];
function timed<T>(label: string, t0: number, v: T): T {
  timings.push([label, (Date.now() - t0) / 1000]);
  process.stdout.write(`      [timing] ${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return v;
}

function buildStep(args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(join(REPO, 'scripts/build-image.sh'), args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`build-image.sh ${args.join(' ')} failed (${r.status}):\n${(r.stderr ?? '').slice(-4000)}`);
  return r.stdout.trim().split('\n').pop() ?? '';
}

/** Does the µ-law `needle` occur in `hay` (compared as linear samples: G.711 has two zeros)? */
function containsAudio(hay: Buffer, needle: Buffer): boolean {
  const h = Buffer.from(decode('ulaw', hay).buffer);
  const n = Buffer.from(decode('ulaw', needle).buffer);
  for (let from = 0; ; ) {
    const i = h.indexOf(n, from);
    if (i < 0) return false;
    if (i % 2 === 0) return true;
    from = i + 1;
  }
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('QEMU: the arm64 appliance end to end', function () {
  this.timeout(20 * 60_000);
  let work = '';
  let mosq: Mosquitto | undefined;
  let sipp: GuestSipp | undefined;
  let sim: SimulatorHandle | undefined;
  let guest: QemuGuest | undefined;
  let watcher: MqttClient | undefined;
  const seen: Seen[] = [];
  const root = `tonewall/v1/${DEVICE}/`;
  const hostHellos: number[] = [];

  const latest = (topic: string): Seen | undefined => [...seen].reverse().find((m) => m.topic === root + topic);
  const show = async (props: string): Promise<Record<string, string>> => {
    if (!guest) throw new Error('no guest');
    const r = await guest.run(`systemctl show -p ${props} tonewall.service | cat`);
    return Object.fromEntries(r.out.split('\n').map((l) => l.trim()).filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  };
  const journal = async (lines = 60): Promise<string> => (guest ? (await guest.run(`journalctl -u tonewall --no-pager -o cat -n ${lines} | cut -c1-300`)).out : '');

  before(async function () {
    const missing = TOOLS.filter((t) => !hasBinary(t));
    if (missing.length > 0 || process.getuid?.() !== 0) {
      const why = missing.length > 0 ? `missing ${missing.join(', ')}` : 'not root';
      if (process.env['CI']) throw new Error(`QEMU test cannot run: ${why} (.ci/run installs the recipe's packages)`);
      process.stdout.write(`      skipped: ${why}\n`);
      this.skip();
    }
    work = makeTempDir('qemu');
    let t0 = Date.now();
    const baseDir = timed('image build (base, cached when unchanged)', t0, buildStep(['base']));

    mosq = await startMosquitto({ persistence: true });
    sipp = await startSippForGuest(join(REPO, 'test/qemu/uas-slirp.xml'), await freeUdpPort(), work);
    const simLog = createLogger({ level: 'info', sinks: [jsonSink({ write: (s: string) => writeFileSync(join(work, 'sim.log'), s, { flag: 'a' }) })] });
    sim = await runSimulator({ listen: `unix:${join(work, 'card.sock')}`, script: 'none', log: simLog });
    sim.card.on('host-hello', () => hostHellos.push(Date.now()));

    // The application disk, with this run's configuration and a root autologin on the console.
    const extra = join(work, 'overlay-extra');
    mkdirSync(join(extra, 'etc/tonewall'), { recursive: true });
    mkdirSync(join(extra, 'etc/systemd/system/serial-getty@ttyAMA0.service.d'), { recursive: true });
    const config = {
      device: { id: DEVICE, stateDir: '/var/lib/tonewall' },
      log: { level: 'info', format: 'json' },
      card: { transport: 'serial', path: '/dev/tonewall-card', sim: { enabled: false } },
      sip: { bindAddress: '10.0.2.15', bindPort: 5060, advertisedAddress: '10.0.2.15', contactCenterUri: `sip:{called}@10.0.2.2:${sipp.sipPort}`, demoEndpoint: { enabled: false } },
      mqtt: { url: `mqtt://10.0.2.2:${mosq.port}`, embeddedBroker: { enabled: false }, willDelayS: 2, sessionExpiryS: 10 },
    };
    writeFileSync(join(extra, 'etc/tonewall/config.json'), JSON.stringify(config, null, 2));
    mkdirSync(join(extra, 'usr/local/lib/tonewall-test'), { recursive: true });
    writeFileSync(join(extra, 'usr/local/lib/tonewall-test/gpio-probe.js'), GPIO_PROBE_JS);
    writeFileSync(join(extra, 'usr/local/lib/tonewall-test/gpio-probe.sh'), GPIO_PROBE_SH);
    writeFileSync(
      join(extra, 'etc/systemd/system/serial-getty@ttyAMA0.service.d/autologin.conf'),
      '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200 %I $TERM\n',
    );
    t0 = Date.now();
    buildStep(['app', work], { APP_OVERLAY_EXTRA: extra });
    timed('application disk (arm64 node_modules cached when unchanged)', t0, 0);

    watcher = mqtt.connect(mosq.url, { protocolVersion: 5, clientId: `qemu-test-${process.pid}` });
    watcher.on('message', (topic, payload, packet) => {
      let body: Record<string, unknown> | null = null;
      if (payload.length > 0) {
        try {
          body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
        } catch {
          body = { unparsed: payload.length };
        }
      }
      seen.push({ topic, retain: packet.retain, body, atMs: Date.now() });
    });
    await new Promise<void>((res, rej) => watcher?.once('connect', () => watcher?.subscribe(`${root}#`, { qos: 1 }, (e) => (e ? rej(e) : res()))));

    guest = new QemuGuest({ baseDir, appImg: join(work, 'app.img'), workDir: work, cardSocket: join(work, 'card.sock') });
    t0 = Date.now();
    await guest.start();
    await guest.waitForShell(8 * 60_000);
    timed('QEMU start to root shell', t0, 0);
    const state = await until('tonewall to become active (READY=1) or fail', 5 * 60_000, async () => {
      const s = await show('ActiveState');
      return s['ActiveState'] === 'active' || s['ActiveState'] === 'failed' ? s['ActiveState'] : undefined;
    });
    timed('QEMU start to tonewall READY=1', t0, 0);
    if (state !== 'active') throw new Error(`tonewall.service is ${state}; journal:\n${await journal()}`);
  });

  after(async () => {
    if (guest && guest.running && process.env['TONEWALL_QEMU_KEEP_JOURNAL']) process.stdout.write(await journal(200));
    await guest?.stop();
    watcher?.end(true);
    await sim?.stop();
    if (sipp) await stopChild(sipp.child);
    await mosq?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
    if (timings.length) process.stdout.write(`      timings: ${timings.map(([l, s]) => `${l} ${s.toFixed(1)} s`).join('; ')}\n`);
  });

  it('systemd started tonewall as Type=notify (READY=1) with its watchdog, as the tonewall user', async () => {
    const s = await show('ActiveState,SubState,Type,WatchdogUSec,ExecMainStartTimestampMonotonic,ActiveEnterTimestampMonotonic,MainPID,User');
    assert.equal(s['ActiveState'], 'active');
    assert.equal(s['SubState'], 'running');
    assert.equal(s['Type'], 'notify');
    assert.equal(s['User'], 'tonewall');
    const startToReadyMs = (Number(s['ActiveEnterTimestampMonotonic']) - Number(s['ExecMainStartTimestampMonotonic'])) / 1000;
    process.stdout.write(`      [timing] guest boot to READY=1: ${(Number(s['ActiveEnterTimestampMonotonic']) / 1e6).toFixed(1)} s; process start to READY=1: ${(startToReadyMs / 1000).toFixed(1)} s (TCG)\n`);
    assert.ok(startToReadyMs > 0);
    const card = await guest?.run('readlink -f /dev/tonewall-card');
    assert.equal(card?.out, '/dev/ttyS0', 'udev names the PCI UART /dev/tonewall-card');
  });

  it('the arm64 build reports over MQTT: status online, info from linux-arm64; the arm64 native addon loads', async () => {
    const status = await until('status online', 120_000, () => (latest('status')?.body?.['state'] === 'online' ? latest('status') : undefined));
    assert.equal(status.retain || seen.some((m) => m.topic === `${root}status` && m.body?.['state'] === 'online'), true);
    const info = await until('info', 120_000, () => latest('info'));
    const hw = info.body?.['hw'] as Record<string, unknown> | undefined;
    assert.equal(hw?.['model'], 'linux-arm64');
    const probe = await guest?.run(`cd /opt/tonewall && node -e "const r=require('./dist/firmware/native/loader').loadNativeAddon(); const b=Buffer.alloc(64,1); r.addon.wipe(b); console.log('ADDON', process.arch, r.path, b.every((x)=>x===0))"`, 120_000);
    assert.match(probe?.out ?? '', /ADDON arm64 \/opt\/tonewall\/firmware\/native\/lib\/binding\/napi-v8-linux-arm64\/tonewall_native\.node true/);
  });

  it('a call from the simulated PSTN reaches sipp, with audio both ways', async () => {
    const card = sim?.card;
    assert.ok(card);
    await until('the guest daemon to say hello to the simulated card', 120_000, () => (hostHellos.length > 0 ? true : undefined));
    const t0 = Date.now();
    const call: PstnCall = card.placeCall({ port: 1, callerNumber: '5551230001', ringCadence: 'us', answerTimeoutRings: 8, audio: [{ speech: 4000 }], hangup: 'caller', seed: 7 });
    const answered = await new Promise<string | undefined>((res) => {
      const timer = setTimeout(() => res('not answered within 120 s'), 120_000);
      card.on('call-answered', (c) => c === call && (clearTimeout(timer), res(undefined)));
      card.on('call-ended', (c) => c === call && (clearTimeout(timer), res('the call ended before it was answered')));
    });
    if (answered) throw new Error(`${answered}; sipp:\n${sipp?.output() ?? ''}\nguest journal:\n${await journal(80)}`);
    timed('call setup (simulated ring to answer, through the guest to sipp)', t0, 0);
    await new Promise<void>((res) => (call.state === 'ended' ? res() : card.on('call-ended', (c) => c === call && res())));
    const ended = await until('events/call call.ended', 60_000, () => seen.find((m) => m.topic === `${root}events/call` && m.body?.['type'] === 'call.ended'));
    assert.ok(ended);
    const sent = call.sent();
    const heard = call.heard();
    assert.ok(sent.length > 8000, `caller sent only ${sent.length} bytes`);
    const piece = sent.subarray(Math.floor(sent.length / 2), Math.floor(sent.length / 2) + 160);
    assert.ok(containsAudio(heard, piece), `the caller's audio did not come back through the guest and sipp's echo (heard ${heard.length} bytes)`);
  });

  it('SIGKILL of tonewall: systemd restarts it and the retained status comes back online', async () => {
    const before = await show('MainPID,NRestarts');
    const conn = Number(latest('status')?.body?.['conn'] ?? 0);
    const hellos = hostHellos.length;
    await guest?.run('systemctl kill -s KILL tonewall.service');
    const after = await until('tonewall restarted and active', 5 * 60_000, async () => {
      const s = await show('ActiveState,MainPID,NRestarts');
      return s['ActiveState'] === 'active' && s['MainPID'] !== before['MainPID'] && s['MainPID'] !== '0' ? s : undefined;
    });
    assert.equal(Number(after['NRestarts']), Number(before['NRestarts']) + 1);
    const back = await until('status online from the new process', 180_000, () => {
      const s = latest('status');
      return s?.body?.['state'] === 'online' && Number(s.body['conn']) > conn ? s : undefined;
    });
    assert.ok(Number(back.body?.['conn']) > conn);
    await until('the restarted daemon to say hello to the card again', 120_000, () => (hostHellos.length > hellos ? true : undefined));
  });

  it('the card link stops: the daemon declares the link down', async () => {
    const count = async (): Promise<number> => Number((await guest?.run('journalctl -u tonewall --no-pager -o cat | grep -c "card link down"'))?.out.trim().split('\n').pop());
    const before = await count();
    await sim?.stop();
    sim = undefined;
    const down = await until('a new "card link down" in the journal', 120_000, async () => ((await count()) > before ? true : undefined));
    assert.equal(down, true);
  });

  it('with the card link down the watchdog is not fed: systemd restarts tonewall within WatchdogSec', async () => {
    const before = await show('NRestarts');
    const t0 = Date.now();
    const after = await until('a watchdog restart', 180_000, async () => {
      const s = await show('NRestarts,ActiveState');
      return Number(s['NRestarts']) > Number(before['NRestarts']) ? s : undefined;
    });
    timed('card link lost to watchdog restart (WatchdogSec=20)', t0, 0);
    assert.ok(Number(after['NRestarts']) > Number(before['NRestarts']));
    const log = await guest?.run('journalctl --no-pager -o cat -u tonewall.service | grep -ci "watchdog timeout"');
    assert.ok(Number(log?.out.trim().split('\n').pop()) > 0, 'systemd logged no watchdog timeout');
  });

  it('GPIO under the service sandbox: a PL061 output reads back, the QMP power button edge reaches the input', async () => {
    await guest?.run('(bash /usr/local/lib/tonewall-test/gpio-probe.sh > /run/gpio-probe.out 2>&1; echo "RC=$?" >> /run/gpio-probe.out) < /dev/null & true');
    const watching = await until('the probe to watch the button line', 120_000, async () => {
      const r = await guest?.run('cat /run/gpio-probe.out');
      if (r?.out.includes('RC=')) {
        const diag = await guest?.run('systemctl status --no-pager tonewall-qemu-board.service | cat; systemd-detect-virt; ls -la /sys/bus/platform/drivers/gpio-keys/; cat /sys/kernel/debug/gpio 2>/dev/null | head -20');
        throw new Error(`GPIO probe ended early:\n${r.out}\n--- diagnostics\n${diag?.out ?? ''}`);
      }
      return r?.out.includes('WATCHING') ? r.out : undefined;
    });
    assert.match(watching, /OUT 1 0/);
    await guest?.qmp('system_powerdown');
    const done = await until('the probe to see the edge', 60_000, async () => {
      const r = await guest?.run('cat /run/gpio-probe.out');
      return r?.out.includes('RC=') ? r.out : undefined;
    });
    assert.match(done, /EDGE 1[\s\S]*EDGE 0[\s\S]*RC=0/);
    assert.ok(guest?.running, 'the power button must not power the guest off (gpio-keys unbound by tonewall-qemu-board.service)');
  });
});
