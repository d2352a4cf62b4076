/**
 * The walking skeleton end to end, every part real: the simulated FXO card over a real pty
 * (socat) → the serialport driver → the analog line → the call manager → SIP over UDP to sipp
 * (Debian's sip-tester, built-in UAS with RTP echo) → RTP both ways → reported over MQTT to
 * Debian's mosquitto, watched by an independent MQTT client; the RTP sipp receives is decoded by
 * tshark and compared with the audio the simulated caller sent.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger, memorySink } from '../../../hw/base/logger';
import { parseCallScript } from '../../../hw/sim/call-script';
import { Appliance } from '../../../controller/app/appliance';
import { parseConfig } from '../../../controller/config/load';
import { decode } from '../../../controller/media/g711';
import { bestMatch, loudestWindow } from '../../lib/audio-match';
import { startMosquitto, mosquittoOrSkip, type Mosquitto } from '../../lib/mosquitto';
import { makeTempDir, requirePeer, startCapture, startSippUas, stopChild, tshark, type Capture, type SippRun } from '../../lib/sip-peers';

interface Seen {
  topic: string;
  retain: boolean;
  body: Record<string, unknown> | null;
}

/**
 * Where the µ-law `needle` occurs in the µ-law `hay`, compared as decoded linear samples (G.711
 * has two codes for zero, 0x7f and 0xff, and a decode/encode round trip turns the first into the
 * second), or -1.
 */
function indexOfAudio(hay: Buffer, needle: Buffer): number {
  const h = Buffer.from(decode('ulaw', hay).buffer);
  const n = Buffer.from(decode('ulaw', needle).buffer);
  for (let from = 0; ; ) {
    const i = h.indexOf(n, from);
    if (i < 0 || i % 2 === 0) return i < 0 ? -1 : i / 2;
    from = i + 1;
  }
}

describe('end to end: simulated PSTN call → SIP (sipp) with audio both ways, reported to mosquitto', function () {
  this.timeout(90_000);
  let broker: Mosquitto;
  let sipp: SippRun;
  let capture: Capture;
  let watcher: MqttClient;
  let app: Appliance;
  let dir: string;
  const seen: Seen[] = [];
  const sink = memorySink(100_000);
  const device = 'tw-e2e-0001';
  const root = `tonewall/v1/${device}/`;

  before(async function () {
    mosquittoOrSkip(this);
    for (const peer of ['sipp', 'socat', 'dumpcap', 'tshark']) requirePeer(this, peer);
    dir = makeTempDir('e2e');
    broker = await startMosquitto();
    sipp = await startSippUas({ scenario: { builtin: 'uas' }, rtpEcho: true });
    capture = await startCapture(dir, `udp and (port ${sipp.sipPort} or port ${sipp.mediaPort})`);
    watcher = mqtt.connect(broker.url, { protocolVersion: 5, clientId: 'e2e-watcher', reconnectPeriod: 0 });
    watcher.on('message', (topic, payload, packet) => {
      seen.push({ topic, retain: packet.retain, body: payload.length ? (JSON.parse(payload.toString()) as Record<string, unknown>) : null });
    });
    await new Promise<void>((resolve, reject) => {
      watcher.once('connect', () => watcher.subscribe(`tonewall/v1/${device}/#`, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
      watcher.once('error', reject);
    });
    const config = parseConfig({
      device: { id: device, stateDir: join(dir, 'state') },
      log: { level: 'debug' },
      card: { sim: { enabled: true, transport: 'pty', script: 'none' } },
      sip: { bindPort: 0, rtpPortMin: 31000, rtpPortMax: 31999, contactCenterUri: `sip:{called}@127.0.0.1:${sipp.sipPort}`, codecs: ['PCMU'], demoEndpoint: { enabled: false } },
      mqtt: { url: broker.url, embeddedBroker: { enabled: false } },
    });
    const script = parseCallScript({
      port: 2,
      callerNumber: '5551234567',
      callerName: 'E2E CALLER',
      ringCadence: [400, 400],
      audio: [{ speech: 3000 }],
      hangup: 'caller',
      seed: 7,
    });
    app = new Appliance({ config, log: createLogger({ level: 'debug', sinks: [sink] }), simScript: [script] });
    await app.start();
    // The call ends when the caller hangs up; wait for MQTT to report it.
    const deadline = Date.now() + 60_000;
    while (!seen.some((m) => m.topic === `${root}events/call` && m.body?.['type'] === 'call.ended')) {
      if (Date.now() > deadline) throw new Error(`no call.ended on MQTT within 60 s; sipp:\n${sipp.output()}\nlog tail:\n${sink.lines.slice(-40).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300)); // let the snapshot clear and last RTP land
  });

  after(async () => {
    await app?.stop('test done');
    watcher?.end(true);
    await capture?.stop();
    if (sipp) await stopChild(sipp.child);
    await broker?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports call.started, call.answered and call.ended on events/call from the outbox, in order, with unique ids', () => {
    const events = seen.filter((m) => m.topic === `${root}events/call`).map((m) => m.body ?? {});
    assert.deepEqual(events.map((e) => e['type']), ['call.started', 'call.answered', 'call.ended']);
    assert.equal(new Set(events.map((e) => e['id'])).size, 3);
    const callIds = new Set(events.map((e) => (e['data'] as Record<string, unknown>)['callId']));
    assert.equal(callIds.size, 1);
    const ended = events[2]?.['data'] as Record<string, unknown>;
    assert.equal(ended['endBy'], 'pstn');
    assert.equal(ended['q850'], 16);
    assert.equal(ended['answered'], true);
    for (const e of events) {
      for (const k of ['v', 'ts', 'dev', 'boot', 'conn', 'seq']) assert.ok(k in e, `envelope field ${k} in ${JSON.stringify(e)}`);
      assert.equal(e['dev'], device);
    }
  });

  it('publishes status online (retained) and a calls/{id} snapshot that is cleared at the end', () => {
    const status = seen.filter((m) => m.topic === `${root}status`);
    assert.equal(status[0]?.body?.['state'], 'online');
    const callId = String(((seen.find((m) => m.topic === `${root}events/call`)?.body ?? {})['data'] as Record<string, unknown>)['callId']);
    const snaps = seen.filter((m) => m.topic === `${root}calls/${callId}`);
    assert.ok(snaps.some((s) => s.body?.['state'] === 'active'), JSON.stringify(snaps));
    assert.equal(snaps.at(-1)?.body, null, 'the last snapshot message clears the retained call');
  });

  it('sipp saw one successful call (INVITE/200/ACK, then our BYE)', async () => {
    const code = await sipp.exit;
    assert.equal(code, 0, sipp.output());
  });

  it('the RTP sipp received carries the audio the simulated caller sent, sample for sample (µ-law card, PCMU, transparent uplink)', async () => {
    await capture.stop();
    const hex = tshark(['-r', capture.file, '-d', `udp.port==${sipp.mediaPort},rtp`, '-Y', `rtp && udp.dstport==${sipp.mediaPort}`, '-T', 'fields', '-e', 'rtp.payload']);
    const received = Buffer.from(hex.replace(/[:\s]/g, ''), 'hex');
    const call = app.sim?.card.calls.find((c) => c.port === 2);
    assert.ok(call, 'the simulator kept the call');
    const sent = call.sent();
    assert.ok(received.length > 8000 * 2, `sipp received ${received.length} bytes of audio, expected over 2 s`);
    // Three 0.25 s windows from the middle of the caller's speech must appear verbatim in the RTP stream.
    for (const offset of [4000, 12000, 20000]) {
      const window = sent.subarray(offset, offset + 2000);
      assert.equal(window.length, 2000);
      assert.ok(indexOfAudio(received, window) >= 0, `caller audio at sample ${offset} not found in the RTP sent to sipp`);
    }
    const malformed = tshark(['-r', capture.file, '-d', `udp.port==${sipp.mediaPort},rtp`, '-Y', '_ws.malformed']);
    assert.equal(malformed.trim(), '', 'tshark found malformed packets');
  });

  it('the caller heard the echo sipp returned: the downlink carries the caller\'s own audio back', () => {
    const call = app.sim?.card.calls.find((c) => c.port === 2);
    assert.ok(call);
    // The loudest 100 ms of the caller's speech (silence would match any silence), found by
    // correlation: the adaptive jitter buffer may time-scale the echo by a sample here and there.
    const { window, meanPower } = loudestWindow('ulaw', call.sent());
    assert.ok(meanPower > 100 ** 2, 'the window is speech, not silence');
    const match = bestMatch('ulaw', call.heard(), window);
    assert.ok(match > 0.98, `a 100 ms window of the caller's speech came back through sipp's echo (best correlation ${match.toFixed(3)})`);
  });

  it('keeps the CDR in SQLite and no log line or database row is refused by the card-data guard', async () => {
    await app.stop('test done');
    const db = new Database(join(dir, 'state', 'tonewall.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT state, end_by, q850, answered_ms IS NOT NULL AS answered FROM calls').all() as Record<string, unknown>[];
      assert.equal(rows.length, 1);
      assert.deepEqual(rows[0], { state: 'ended', end_by: 'pstn', q850: 16, answered: 1 });
      assert.equal((db.prepare('PRAGMA integrity_check').get() as Record<string, unknown>)['integrity_check'], 'ok');
    } finally {
      db.close();
    }
    assert.ok(!sink.lines.some((l) => l.includes('log record dropped')));
    const offline = seen.filter((m) => m.topic === `${root}status`).at(-1);
    assert.equal(offline?.body?.['state'], 'offline', 'a clean stop publishes offline');
  });
});
