/**
 * The whole appliance with baresip as the contact-center endpoint (issue #4: "baresip as a real SIP
 * endpoint exchanging audio with the appliance"): simulated FXO card over a pty → call manager →
 * SIP/RTP to baresip (auto-answer, aufile source of 800 Hz, sndfile recording what it decodes).
 *
 * Call 1 (port 1): the caller talks and hangs up → our BYE ends baresip's call.
 * Call 2 (port 2): the caller talks and stays; baresip's audio file ends and baresip hangs up →
 * its BYE releases the line on the card.
 * Checked: baresip decoded the caller's speech (correlation of the caller's loudest 100 ms with
 * baresip's recording), the caller heard baresip's 800 Hz, each side's hang-up, CDRs, and tshark
 * decodes every SIP and RTP packet of both calls without a malformed one.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { createLogger, memorySink } from '../../../hw/base/logger';
import { parseCallScript } from '../../../hw/sim/call-script';
import { Appliance } from '../../../controller/app/appliance';
import { parseConfig } from '../../../controller/config/load';
import { decode, encode } from '../../../controller/media/g711';
import { bestMatch, loudestWindow } from '../../lib/audio-match';
import { startMosquitto, mosquittoOrSkip, type Mosquitto } from '../../lib/mosquitto';
import { freeUdpPort, makeTempDir, requirePeer, startCapture, stopChild, tshark, type Capture } from '../../lib/sip-peers';
import { goertzel } from '../../lib/sim-signal';

const BARESIP_FILE_S = 9;

/** The 16-bit PCM of a WAV file written by baresip's sndfile module (44-byte header). */
function wavPcm(file: string): Int16Array {
  const raw = fs.readFileSync(file);
  return new Int16Array(raw.buffer.slice(raw.byteOffset + 44, raw.byteOffset + 44 + ((raw.length - 44) & ~1)));
}

describe('interop: the whole appliance with baresip as the contact center', function () {
  this.timeout(120_000);
  let dir = '';
  let broker: Mosquitto | undefined;
  let baresip: ChildProcess | undefined;
  let capture: Capture | undefined;
  let app: Appliance | undefined;
  let sipPort = 0;
  let rtpPort = 0;
  const sink = memorySink(200_000);

  before(async function () {
    mosquittoOrSkip(this);
    for (const peer of ['baresip', 'sox', 'socat', 'dumpcap', 'tshark']) requirePeer(this, peer);
    dir = makeTempDir('e2e-baresip');
    broker = await startMosquitto();
    sipPort = await freeUdpPort();
    rtpPort = (await freeUdpPort(true)) & ~1;
    const wav = path.join(dir, 'tx.wav');
    const sox = spawnSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', wav, 'synth', String(BARESIP_FILE_S), 'sine', '800', 'vol', '0.4']);
    assert.equal(sox.status, 0, String(sox.stderr));
    fs.mkdirSync(path.join(dir, 'rec'));
    fs.writeFileSync(path.join(dir, 'config'), [
      'poll_method\t\tepoll', 'net_interface\t\t127.0.0.1', `sip_listen\t\t127.0.0.1:${sipPort}`, `rtp_ports\t\t${rtpPort}-${rtpPort + 19}`,
      `audio_source\t\taufile,${wav}`, 'audio_player\t\talsa,null', 'audio_alert\t\talsa,null', 'module_path\t\t/usr/lib/baresip/modules',
      'module\t\t\tg711.so', 'module\t\t\taufile.so', 'module\t\t\talsa.so', 'module\t\t\tsndfile.so', `snd_path\t\t${path.join(dir, 'rec')}`, 'module_tmp\t\taccount.so', 'module_app\t\tmenu.so', '',
    ].join('\n'));
    fs.writeFileSync(path.join(dir, 'accounts'), `<sip:agent@127.0.0.1:${sipPort}>;regint=0;answermode=auto;audio_codecs=PCMU\n`);
    const log = fs.openSync(path.join(dir, 'baresip.log'), 'w');
    baresip = spawn('baresip', ['-f', dir], { stdio: ['ignore', log, log] });
    const ready = Date.now() + 10_000;
    while (!fs.readFileSync(path.join(dir, 'baresip.log'), 'utf8').includes('baresip is ready')) {
      if (Date.now() > ready) throw new Error(`baresip did not start:\n${fs.readFileSync(path.join(dir, 'baresip.log'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    capture = await startCapture(dir, `udp and (port ${sipPort} or portrange ${rtpPort}-${rtpPort + 19})`);

    const config = parseConfig({
      device: { id: 'tw-e2e-baresip', stateDir: path.join(dir, 'state') },
      log: { level: 'debug' },
      card: { sim: { enabled: true, transport: 'pty', script: 'none' } },
      sip: { bindPort: 0, rtpPortMin: 32000, rtpPortMax: 32999, contactCenterUri: `sip:agent@127.0.0.1:${sipPort}`, codecs: ['PCMU'], demoEndpoint: { enabled: false } },
      mqtt: { url: broker.url, embeddedBroker: { enabled: false } },
    });
    const scripts = [
      parseCallScript({ port: 1, callerNumber: '5551230001', ringCadence: [400, 400], audio: [{ speech: 3000 }], hangup: 'caller', seed: 11 }),
      parseCallScript({ port: 2, atMs: 2500, callerNumber: '5551230002', ringCadence: [400, 400], audio: [{ speech: 3000 }], hangup: 'wait-for-host', seed: 12 }),
    ];
    app = new Appliance({ config, log: createLogger({ level: 'debug', sinks: [sink] }), simScript: scripts });
    await app.start();
    const db = path.join(dir, 'state', 'tonewall.db');
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`both calls did not end within 60 s; baresip:\n${fs.readFileSync(path.join(dir, 'baresip.log'), 'utf8').slice(-3000)}\nlog tail:\n${sink.lines.slice(-40).join('\n')}`);
      if (fs.existsSync(db)) {
        const h = new Database(db, { readonly: true });
        const ended = (h.prepare("SELECT count(*) AS n FROM calls WHERE state = 'ended'").get() as { n: number }).n;
        h.close();
        if (ended >= 2) break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 500)); // baresip closes its recordings; the last packets land
    await capture.stop();
  });

  after(async () => {
    await app?.stop('test done');
    await capture?.stop();
    if (baresip) await stopChild(baresip);
    await broker?.dispose();
    if (dir && !process.env['TW_KEEP']) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('each side\'s hang-up ends the call: call 1 by the caller (our BYE), call 2 by baresip (its BYE)', () => {
    const h = new Database(path.join(dir, 'state', 'tonewall.db'), { readonly: true });
    try {
      const rows = h.prepare('SELECT port, end_by, answered_ms IS NOT NULL AS answered FROM calls ORDER BY port').all() as Array<Record<string, unknown>>;
      assert.deepEqual(rows, [
        { port: 1, end_by: 'pstn', answered: 1 },
        { port: 2, end_by: 'sip', answered: 1 },
      ]);
    } finally {
      h.close();
    }
    const blog = fs.readFileSync(path.join(dir, 'baresip.log'), 'utf8');
    assert.equal((blog.match(/Call established/g) ?? []).length, 2, blog);
    assert.match(blog, /session closed/i, 'baresip saw a call closed by the far end');
    const released = app?.sim?.card.calls.find((c) => c.port === 2);
    assert.ok(released, 'the simulator kept call 2');
  });

  it('baresip decoded each caller\'s speech (the loudest 100 ms found in its recording)', () => {
    const recs = fs.readdirSync(path.join(dir, 'rec')).filter((f) => f.endsWith('-dec.wav')).sort();
    assert.equal(recs.length, 2, `two recordings of received audio: ${recs.join(', ')}`);
    // baresip names recordings by the second of the answer (call 2 starts 2.5 s later so they differ)
    // and which one is which call is not in the name, so
    // each caller's speech must be found in exactly one recording, a different one per caller.
    const recorded = recs.map((f) => Buffer.from(encode('ulaw', wavPcm(path.join(dir, 'rec', f)))));
    const owner = new Set<number>();
    for (const port of [1, 2]) {
      const call = app?.sim?.card.calls.find((c) => c.port === port);
      assert.ok(call, `the simulator kept the call on port ${port}`);
      const { window, meanPower } = loudestWindow('ulaw', call.sent());
      assert.ok(meanPower > 100 ** 2, 'the window is speech, not silence');
      const matches = recorded.map((r) => bestMatch('ulaw', r, window));
      const hits = matches.flatMap((m, i) => (m > 0.95 ? [i] : []));
      assert.equal(hits.length, 1, `port ${port}: the caller's loudest 100 ms is in exactly one of baresip's recordings (correlations ${matches.map((m) => m.toFixed(3)).join(', ')})`);
      owner.add(hits[0] ?? -1);
    }
    assert.equal(owner.size, 2, 'each call has its own recording');
  });

  it('each caller heard baresip\'s 800 Hz source', () => {
    for (const port of [1, 2]) {
      const call = app?.sim?.card.calls.find((c) => c.port === port);
      assert.ok(call);
      const heard = decode('ulaw', call.heard());
      // 0.5 s from the middle of what the caller heard after the answer.
      const from = Math.max(0, Math.floor(heard.length / 2) - 2000);
      const tone = goertzel(heard, 800, from, from + 4000);
      assert.ok(tone > 10 * goertzel(heard, 1200, from, from + 4000) && tone > 10 * goertzel(heard, 400, from, from + 4000), `port ${port}: 800 Hz dominates what the caller heard`);
    }
  });

  it('tshark decodes every SIP and RTP packet of both calls, none malformed', () => {
    assert.ok(capture);
    const rtpDecode = ['-d', `udp.port==${rtpPort},rtp`];
    for (let p = rtpPort + 2; p < rtpPort + 20; p += 2) rtpDecode.push('-d', `udp.port==${p},rtp`);
    const sip = tshark(['-r', capture.file, '-Y', 'sip', '-T', 'fields', '-e', 'sip.Method', '-e', 'sip.Status-Code']);
    for (const method of ['INVITE', 'ACK', 'BYE']) assert.match(sip, new RegExp(`^${method}\\b`, 'm'), `a ${method} on the wire`);
    const rtpCount = tshark(['-r', capture.file, ...rtpDecode, '-Y', 'rtp', '-T', 'fields', '-e', 'frame.number']).trim().split('\n').filter((l) => l !== '').length;
    assert.ok(rtpCount > 400, `RTP packets decoded: ${rtpCount}`);
    const malformed = tshark(['-r', capture.file, ...rtpDecode, '-Y', '_ws.malformed || _ws.expert.severity >= "error"']);
    assert.equal(malformed.trim(), '', 'tshark found malformed packets');
  });
});
