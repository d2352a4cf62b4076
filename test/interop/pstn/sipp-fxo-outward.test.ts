/**
 * SIP → PSTN on an analog line, end to end through the whole appliance: sipp calls the appliance with
 * +1 5551234; the call manager routes it (sip.routing) to port/1 of the simulated fxo4 card; the FXO
 * line seizes, hears the simulated exchange's dial tone, has the card dial 5551234 (the exchange gets
 * exactly those digits), counts the call answered once dialled (no answer signal on this line), 200
 * goes back to sipp, and sipp's BYE puts the line back on-hook.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as path from 'node:path';
import { createLogger, memorySink } from '../../../hw/base/logger';
import { Appliance } from '../../../controller/app/appliance';
import type { CallRecord } from '../../../controller/call/call';
import { parseConfig } from '../../../controller/config/load';
import { startMosquitto, mosquittoOrSkip, type Mosquitto } from '../../lib/mosquitto';
import { startSippUac } from '../../lib/sip-call-harness';
import { makeTempDir, requirePeer, stopChild, type SippRun } from '../../lib/sip-peers';

const DATA = path.resolve(__dirname, '../../../../test/data/sip');

describe('interop: sipp → appliance → simulated FXO line (SIP → PSTN: seizure, dial tone, dialling)', function () {
  this.timeout(90_000);
  let broker: Mosquitto;
  let sipp: SippRun | undefined;
  let app: Appliance | undefined;
  let dir: string;
  const sink = memorySink(50_000);

  before(async function () {
    mosquittoOrSkip(this);
    requirePeer(this, 'sipp');
    dir = makeTempDir('sip-fxo');
    broker = await startMosquitto();
  });

  after(async () => {
    await app?.stop('test done');
    if (sipp) {
      await stopChild(sipp.child);
      rmSync(sipp.dir, { recursive: true, force: true });
    }
    await broker?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('routes +1… to port/1, dials the digits after dial tone, answers 200 once dialled, BYE puts the line on-hook', async () => {
    const records: CallRecord[] = [];
    const config = parseConfig({
      device: { id: 'tw-sip-fxo-1', stateDir: join(dir, 'state') },
      card: { sim: { enabled: true, model: 'fxo4', transport: 'socket', script: 'none' } },
      sip: { bindPort: 0, rtpPortMin: 34000, rtpPortMax: 34999, demoEndpoint: { enabled: false }, routing: [{ prefix: '+1', strip: 2, trunk: 'port/1' }] },
      mqtt: { url: broker.url, embeddedBroker: { enabled: false } },
    });
    app = new Appliance({ config, log: createLogger({ level: 'debug', sinks: [sink] }), simScript: 'none' });
    app.on('call', (record) => records.push({ ...record }));
    await app.start();
    const sipPort = app.sip?.localAddress.port ?? 0;
    for (let i = 0; i < 100 && app.trunk?.available() !== true; i++) await new Promise((r) => setTimeout(r, 100));
    sipp = await startSippUac({ file: path.join(DATA, 'uac-pstn-talk.xml'), target: { address: '127.0.0.1', port: sipPort }, service: '+15551234', rtpEcho: true });
    const code = await sipp.exit;
    assert.equal(code, 0, `sipp:\n${sipp.output()}\nappliance log:\n${sink.lines.slice(-40).join('\n')}`);
    for (let i = 0; i < 50 && !records.some((r) => r.state === 'ended'); i++) await new Promise((r) => setTimeout(r, 100));
    const ended = records.find((r) => r.state === 'ended');
    assert.ok(ended, 'the call ended');
    assert.equal(ended.direction, 'outbound');
    assert.equal(ended.calledNumber, '5551234');
    assert.equal(ended.trunk, 'port/1');
    assert.equal(ended.endBy, 'sip');
    assert.ok(ended.answeredMs !== null, 'answered');
    const simCall = app.sim?.card.calls.find((c) => c.direction === 'outbound');
    assert.ok(simCall, 'the exchange saw an outward call');
    assert.equal(simCall.dialled, '5551234');
    assert.equal(simCall.port, 1);
    for (let i = 0; i < 50 && simCall.state !== 'ended'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(simCall.endReason, 'host-hangup');
    assert.equal(app.sim?.card.isOffHook(1), false, 'port 1 back on-hook');
  });
});
