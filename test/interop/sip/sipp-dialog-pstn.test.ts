/**
 * SIP → PSTN end to end through the whole appliance (every part ours real): sipp calls the
 * appliance's SIP port with a number; the call manager routes it (sip.routing) to the PRI span of
 * the simulated e1-pri card, whose network side (our Q.931 network side) rings and answers with its
 * scripted callee; 183/200 go back to sipp with our SDP answer; the callee's audio crosses card →
 * uplink → RTP to sipp (which echoes it back), captured and decoded by tshark.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as path from 'node:path';
import { createLogger, memorySink, nullLogger } from '../../../hw/base/logger';
import { Appliance } from '../../../controller/app/appliance';
import { rtpMediaFactory } from '../../../controller/app/media-leg';
import type { CallRecord } from '../../../controller/call/call';
import { parseConfig } from '../../../controller/config/load';
import { startMosquitto, mosquittoOrSkip, type Mosquitto } from '../../lib/mosquitto';
import { startSippUac } from '../../lib/sip-call-harness';
import { makeTempDir, requirePeer, startCapture, stopChild, tshark, type Capture, type SippRun } from '../../lib/sip-peers';

const DATA = path.resolve(__dirname, '../../../../test/data/sip');

describe('interop: sipp → appliance → simulated E1 PRI network (SIP → PSTN with audio)', function () {
  this.timeout(90_000);
  let broker: Mosquitto;
  let sipp: SippRun | undefined;
  let capture: Capture | undefined;
  let app: Appliance | undefined;
  let dir: string;
  const sink = memorySink(50_000);

  before(async function () {
    mosquittoOrSkip(this);
    for (const peer of ['sipp', 'dumpcap', 'tshark']) requirePeer(this, peer);
    const config = parseConfig({ sip: { bindPort: 0 } });
    const probe = await rtpMediaFactory({
      sip: config.sip,
      log: nullLogger,
      uplink: () => {
        throw new Error('the probe leg never builds a pipeline');
      },
    }).open({ callId: 'probe', cardLaw: 'alaw' });
    const canAnswer = typeof probe.answerOffer === 'function';
    probe.close();
    if (!canAnswer) {
      // The media leg answers SIP offers once controller/app/media-leg.ts implements MediaLeg.answerOffer.
      this.skip();
    }
    dir = makeTempDir('sip-pstn');
    broker = await startMosquitto();
  });

  after(async () => {
    await app?.stop('test done');
    await capture?.stop();
    if (sipp) {
      await stopChild(sipp.child);
      rmSync(sipp.dir, { recursive: true, force: true });
    }
    await broker?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('routes +44… to span 1 as 0…, answers 200 when the PRI callee answers, carries the callee\'s audio to sipp, BYE clears the PRI call', async () => {
    const records: CallRecord[] = [];
    const config = parseConfig({
      device: { id: 'tw-sip-pstn-1', stateDir: join(dir, 'state') },
      card: { sim: { enabled: true, model: 'e1-pri', script: 'none' } },
      sip: { bindPort: 0, rtpPortMin: 32000, rtpPortMax: 32999, demoEndpoint: { enabled: false }, routing: [{ prefix: '+44', strip: 3, prepend: '0', trunk: 'span/1' }] },
      mqtt: { url: broker.url, embeddedBroker: { enabled: false } },
    });
    app = new Appliance({ config, log: createLogger({ level: 'debug', sinks: [sink] }), simScript: 'none' });
    app.on('call', (record) => records.push({ ...record }));
    await app.start();
    const sipPort = app.sip?.localAddress.port ?? 0;
    // The network's D channel must be up before SETUP can go out.
    for (let i = 0; i < 100 && !sink.lines.some((l) => /span 1 D-channel up/.test(l)); i++) await new Promise((r) => setTimeout(r, 100));
    capture = await startCapture(dir, 'udp and portrange 32000-32999');
    sipp = await startSippUac({ file: path.join(DATA, 'uac-pstn-talk.xml'), target: { address: '127.0.0.1', port: sipPort }, service: '+442071234567', rtpEcho: true });
    const code = await sipp.exit;
    assert.equal(code, 0, `sipp:\n${sipp.output()}\nappliance log:\n${sink.lines.slice(-40).join('\n')}`);
    await new Promise((r) => setTimeout(r, 300));
    await capture.stop();
    const ended = records.find((r) => r.state === 'ended');
    assert.ok(ended, 'the call ended');
    assert.equal(ended.direction, 'outbound');
    assert.equal(ended.calledNumber, '02071234567');
    assert.equal(ended.trunk, 'span/1');
    assert.equal(ended.endBy, 'sip');
    assert.ok(ended.answeredMs !== null, 'answered');
    const payloads = tshark(['-r', capture.file, '-d', 'udp.port==32000-32999,rtp', '-Y', 'rtp && udp.srcport >= 32000 && udp.srcport <= 32999', '-T', 'fields', '-e', 'rtp.payload'])
      .split('\n')
      .filter((l) => l.trim() !== '');
    assert.ok(payloads.length >= 50, `RTP packets from the appliance: ${payloads.length}`);
    const distinct = new Set(payloads.map((p) => p.replace(/:/g, '')));
    assert.ok(distinct.size > 10, `the callee's audio, not one repeated (silent) payload: ${distinct.size} distinct payloads`);
  });
});
