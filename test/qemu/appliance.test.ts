/**
 * The whole appliance on QEMU (issue 8; `npm run test:qemu`): the arm64 image boots under
 * qemu-system-aarch64 (virt, TCG), systemd starts tonewall (Type=notify), and from the host:
 *   - MQTT (mosquitto on 127.0.0.1, reached by the guest as 10.0.2.2): `status` online, `info`
 *     from an arm64 build; the arm64 native addon loads in the guest;
 *   - a call from the simulated PSTN (the host's simulated card on the guest's serial port) reaches
 *     sipp (UAS with RTP echo) and audio goes both ways (what the caller sent comes back);
 *   - a payment on a live call: the agent's `pay.start` over MQTT RPC, the simulated caller keys a
 *     test card, the guest masks the tones, captures the digits and pays the test processor on the
 *     host (JWE over mutual TLS); `events/pay` reports approved with a clean masking record, the
 *     secure LED (PL061 line 4) is lit meanwhile, and the digits are nowhere: MQTT, the guest's
 *     journal, the audio that left the guest (SpanDSP's detector on sipp's echo);
 *   - GPIO driven by tonewall under its own sandbox: the transfer relay (PL061 line 0) is energised
 *     while healthy; QEMU's power button (line 3, wired as the tamper switch in this test's
 *     config) raises and clears `alarms/tamper`;
 *   - SIGKILL of tonewall in the guest: systemd restarts it and the retained status recovers;
 *   - the fleet `restart` command: the unprivileged daemon stops cleanly and exits 75, systemd
 *     (Restart=on-failure) starts it again;
 *   - the card link stops: `alarms/card-link` is raised, the relay drops to the lifeline path, and
 *     the unfed watchdog gets the service restarted.
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
import { systemClock } from '../../hw/base/clock';
import { nullLogger } from '../../hw/base/logger';
import { callRpc } from '../../controller/fleet/rpc';
import { TestProcessor } from '../../controller/secure/test-processor';
import { spandspDetect } from '../lib/dsp-peers';
import { startMosquitto, type Mosquitto } from '../lib/mosquitto';
import { makeTestPki, removePki, type TestPki } from '../lib/secure-certs';
import { freeUdpPort, hasBinary, makeTempDir, stopChild } from '../lib/sip-peers';
import { startSippForGuest, type GuestSipp } from './sipp-guest';
import { QemuGuest } from './qemu-guest';

const REPO = resolve(__dirname, '../../..');
const DEVICE = 'tw-qemu-0001';
const TOOLS = ['qemu-system-aarch64', 'qemu-img', 'mmdebstrap', 'mke2fs', 'aarch64-linux-gnu-gcc', 'mosquitto', 'sipp'];

/** The test card the simulated caller keys (test data: only in tests). */
const CARD = '4111111111111111';
const EXPIRY = '1230';
const CVV = '737';

interface Seen {
  topic: string;
  raw: string;
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
  let pki: TestPki | undefined;
  let processor: TestProcessor | undefined;
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

    // The payment processor on the host (the guest reaches it as 10.0.2.2): mutual TLS, JWE.
    pki = makeTestPki(['10.0.2.2']);
    processor = new TestProcessor({ tls: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca }, alg: 'RSA-OAEP-256', clock: systemClock, logger: nullLogger, port: 0 });
    const processorPort = await processor.start();

    // The application disk, with this run's configuration and a root autologin on the console.
    const extra = join(work, 'overlay-extra');
    mkdirSync(join(extra, 'etc/tonewall/processor'), { recursive: true });
    // Throwaway test credentials, world-readable in this test image only.
    for (const [name, text] of [['ca.crt', pki.ca], ['client.crt', pki.client.cert], ['client.key', pki.client.key], ['processor-jwe.pub', processor.publicKeyPem]] as const) {
      writeFileSync(join(extra, 'etc/tonewall/processor', name), text, { mode: 0o644 });
    }
    mkdirSync(join(extra, 'etc/systemd/system/serial-getty@ttyAMA0.service.d'), { recursive: true });
    const config = {
      device: { id: DEVICE, stateDir: '/var/lib/tonewall' },
      log: { level: 'info', format: 'json' },
      card: { transport: 'serial', path: '/dev/tonewall-card', sim: { enabled: false } },
      sip: { bindAddress: '10.0.2.15', bindPort: 5060, advertisedAddress: '10.0.2.15', contactCenterUri: `sip:{called}@10.0.2.2:${sipp.sipPort}`, demoEndpoint: { enabled: false } },
      mqtt: { url: `mqtt://10.0.2.2:${mosq.port}`, embeddedBroker: { enabled: false }, willDelayS: 2, sessionExpiryS: 10 },
      payments: {
        processor: {
          kind: 'generic-jwe',
          url: `https://10.0.2.2:${processorPort}/payments`,
          publicKeyFile: '/etc/tonewall/processor/processor-jwe.pub',
          caFile: '/etc/tonewall/processor/ca.crt',
          certFile: '/etc/tonewall/processor/client.crt',
          keyFile: '/etc/tonewall/processor/client.key',
        },
      },
      // The virt machine's PL061 (gpiochip512 on 6.12): relay, LEDs, and QEMU's power button as the tamper switch.
      gpio: { enabled: true, lines: { transferRelay: { line: 512 }, ledPower: { line: 513 }, ledTrunkAlarm: { line: 514 }, tamper: { line: 515 }, ledSecure: { line: 516 } } },
    };
    writeFileSync(join(extra, 'etc/tonewall/config.json'), JSON.stringify(config, null, 2));
    writeFileSync(
      join(extra, 'etc/systemd/system/serial-getty@ttyAMA0.service.d/autologin.conf'),
      '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200 %I $TERM\n',
    );
    t0 = Date.now();
    buildStep(['app', work], { APP_OVERLAY_EXTRA: extra });
    timed('application disk (arm64 node_modules cached when unchanged)', t0, 0);

    watcher = mqtt.connect(mosq.url, { protocolVersion: 5, clientId: `qemu-test-${process.pid}` });
    watcher.on('message', (topic, payload, packet) => {
      const raw = payload.toString('utf8');
      let body: Record<string, unknown> | null = null;
      if (payload.length > 0) {
        try {
          body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
        } catch {
          body = { unparsed: payload.length };
        }
      }
      seen.push({ topic, raw, retain: packet.retain, body, atMs: Date.now() });
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
    await processor?.stop();
    removePki(pki);
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
    const native = (info.body?.['sw'] as Record<string, unknown> | undefined)?.['native'] as Record<string, unknown> | undefined;
    assert.equal(native?.['loaded'], true, `info.sw.native: ${JSON.stringify(native)}`);
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

  it('a payment on a live call: masked in the guest, paid over mutual TLS, reported over MQTT, digits nowhere', async () => {
    const card = sim?.card;
    assert.ok(card && watcher);
    const t0 = Date.now();
    const call: PstnCall = card.placeCall({
      port: 1,
      callerNumber: '5551230002',
      ringCadence: 'us',
      answerTimeoutRings: 8,
      // Speech first: the agent starts the payment meanwhile; then the caller keys the card.
      // Deliberate keying (200 ms tones, 400 ms gaps): an emulated guest on a busy machine loses
      // bursts of card audio, and a human-speed 60 ms tone can fall into one.
      audio: [{ speech: 15_000 }, { keys: CARD, toneMs: 200, gapMs: 400 }, { silence: 600 }, { keys: EXPIRY, toneMs: 200, gapMs: 400 }, { silence: 600 }, { keys: CVV, toneMs: 200, gapMs: 400 }, { speech: 8_000 }],
      hangup: 'caller',
      seed: 11,
    });
    const answered = await until('events/call call.answered for the payment call', 180_000, () =>
      seen.find((m) => m.atMs >= t0 && m.topic === `${root}events/call` && m.body?.['type'] === 'call.answered'),
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}; sipp:\n${sipp?.output() ?? ''}\nguest journal:\n${await journal(80)}`);
    });
    const callId = String((answered.body?.['data'] as Record<string, unknown>)['callId']);
    const reply = await callRpc(watcher, {
      root: 'tonewall/v1',
      dev: DEVICE,
      method: 'pay.start',
      requester: 'qemu-agent',
      timeoutMs: 30_000,
      params: { requestId: `qemu-pay-${t0.toString(36)}`, callId, fields: ['card-number', 'expiry', 'security-code'], amountMinor: 1250, currency: 'EUR', reference: 'qemu' },
    });
    assert.equal(reply.status, 'ok', JSON.stringify(reply));
    const secureLed = await until('the secure LED (PL061 line 4) lit while the session runs', 60_000, async () => ((await guest?.run('cat /sys/class/gpio/gpio516/value'))?.out.trim().endsWith('1') ? true : undefined));
    assert.equal(secureLed, true);
    const ended = await until('events/pay pay.ended', 240_000, () => seen.find((m) => m.atMs >= t0 && m.topic === `${root}events/pay` && m.body?.['type'] === 'pay.ended'));
    timed('payment (call answered to pay.ended, under TCG)', Number(answered.atMs), 0);
    const data = ended.body?.['data'] as Record<string, unknown>;
    assert.equal(data['state'], 'approved', JSON.stringify(data));
    const masking = (data['result'] as Record<string, unknown>)['masking'] as { maskedTones: number; faulted: boolean; secondCheck: { ran: boolean; digitsFound: number } };
    assert.ok(masking.maskedTones >= CARD.length + EXPIRY.length + CVV.length, `masked ${masking.maskedTones} tones`);
    assert.equal(masking.faulted, false);
    assert.equal(masking.secondCheck.ran, true);
    assert.equal(masking.secondCheck.digitsFound, 0);
    assert.equal(processor?.counters.approved, 1);
    await new Promise<void>((res) => (call.state === 'ended' ? res() : card.on('call-ended', (c) => c === call && res())));

    // The digits are nowhere: MQTT (topics and payloads), the guest's journal, the audio that left.
    const forms = [CARD, CARD.split('').join(' '), CARD.slice(-8)];
    for (const m of seen) for (const f of forms) assert.ok(!m.topic.includes(f) && !m.raw.includes(f), `card digits on MQTT topic ${m.topic}`);
    const inJournal = await guest?.run(`journalctl --no-pager -o cat | grep -c -e '${CARD}' -e '${CARD.slice(0, 8)}' || true`);
    assert.equal(inJournal?.out.trim().split('\n').pop(), '0', 'card digits in the guest journal');
    const heard = call.heard();
    const sent = call.sent();
    process.stdout.write(`      [audio] caller sent ${(sent.length / 8000).toFixed(1)} s, heard ${(heard.length / 8000).toFixed(1)} s of sipp's echo (TCG drops some)\n`);
    assert.ok(heard.length > 8000 * 5, `the caller heard only ${heard.length} bytes of sipp's echo`);
    // Positive control: the same detector finds the keyed digits in what the caller sent.
    const keyed = spandspDetect(decode('ulaw', sent)).map((d) => d.digit).join('');
    assert.ok(keyed.includes(CVV), 'SpanDSP must find the keyed digits in the caller\'s own audio');
    const digits = spandspDetect(decode('ulaw', heard));
    assert.deepEqual(digits.map((d) => d.digit), [], "SpanDSP found DTMF in what left the guest (sipp's echo)");
  });

  it('GPIO driven by tonewall under its sandbox: the relay is energised while healthy; the power-button line raises and clears alarms/tamper', async () => {
    const relay = await until('the transfer relay (PL061 line 0) energised', 120_000, async () => ((await guest?.run('cat /sys/class/gpio/gpio512/value'))?.out.trim().endsWith('1') ? true : undefined));
    assert.equal(relay, true);
    const t0 = Date.now();
    // QMP's power button is a 100 ms pulse; a guest slowed down by emulation can read the line
    // after the pulse is over, so the press is repeated (up to 4 times) until the alarm shows.
    const tamperRaised = () => seen.find((m) => m.atMs >= t0 && m.topic === `${root}alarms/tamper` && m.body !== null);
    for (let press = 0; press < 4 && !tamperRaised(); press++) {
      await guest?.qmp('system_powerdown');
      await until('alarms/tamper raised', 15_000, tamperRaised).catch(() => undefined);
    }
    const raised = await until('alarms/tamper raised', 15_000, tamperRaised);
    assert.equal(raised.body?.['severity'], 'critical');
    await until('alarms/tamper cleared (empty retained payload)', 60_000, () => seen.find((m) => m.atMs >= raised.atMs && m.topic === `${root}alarms/tamper` && m.body === null));
    assert.ok(guest?.running, 'the power button must not power the guest off (gpio-keys unbound by tonewall-qemu-board.service)');
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

  it('the fleet `restart` command (drained): tonewall exits for systemd to restart it, no privilege needed', async () => {
    assert.ok(watcher);
    const before = await show('MainPID,NRestarts');
    const conn = Number(latest('status')?.body?.['conn'] ?? 0);
    const reply = await callRpc(watcher, { root: 'tonewall/v1', dev: DEVICE, method: 'restart', requester: 'qemu-fleet', timeoutMs: 60_000, params: { reason: 'qemu test' } });
    assert.equal(reply.status, 'accepted', JSON.stringify(reply));
    const after = await until('tonewall restarted by systemd after the restart command', 5 * 60_000, async () => {
      const s = await show('ActiveState,MainPID,NRestarts');
      return s['ActiveState'] === 'active' && s['MainPID'] !== before['MainPID'] && s['MainPID'] !== '0' ? s : undefined;
    });
    assert.equal(Number(after['NRestarts']), Number(before['NRestarts']) + 1);
    await until('status online from the restarted process', 180_000, () => {
      const st = latest('status');
      return st?.body?.['state'] === 'online' && Number(st.body['conn']) > conn ? st : undefined;
    });
    const log = await guest?.run('journalctl -u tonewall --no-pager -o cat | grep -c "restart requested"');
    assert.ok(Number(log?.out.trim().split('\n').pop()) > 0, 'the daemon logged the restart request');
  });

  it('the card link stops: alarms/card-link is raised and the relay drops to the lifeline path', async () => {
    const t0 = Date.now();
    await sim?.stop();
    sim = undefined;
    const alarm = await until('alarms/card-link raised', 120_000, () => seen.find((m) => m.atMs >= t0 && m.topic === `${root}alarms/card-link` && m.body !== null));
    assert.equal(alarm.body?.['severity'], 'major');
    const released = await until('the transfer relay released (watchdog checks failing)', 120_000, async () => ((await guest?.run('cat /sys/class/gpio/gpio512/value'))?.out.trim().endsWith('0') ? true : undefined));
    assert.equal(released, true);
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
});
