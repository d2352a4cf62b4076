/**
 * Fleet commands against the running appliance: Debian mosquitto (MQTT 5), the simulated card with
 * one scripted caller, the embedded demo contact center. The agent's side sends `ping`,
 * `pay.start` on the live call (twice: idempotent by requestId), `call.hangup` for an unknown call,
 * and `drain`; the payment ends with the call and is reported on events/pay.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger, memorySink } from '../../../hw/base/logger';
import { parseCallScript } from '../../../hw/sim/call-script';
import { Appliance } from '../../../controller/app/appliance';
import { parseConfig } from '../../../controller/config/load';
import { callRpc, type RpcReply } from '../../../controller/fleet/rpc';
import { startMosquitto, mosquittoOrSkip, type Mosquitto } from '../../lib/mosquitto';
import { freeUdpPort, makeTempDir, requirePeer } from '../../lib/sip-peers';

interface Seen {
  topic: string;
  body: Record<string, unknown> | null;
}

describe('fleet commands on the running appliance (mosquitto, MQTT 5)', function () {
  this.timeout(90_000);
  let broker: Mosquitto;
  let watcher: MqttClient;
  let app: Appliance;
  let dir: string;
  const seen: Seen[] = [];
  const replies: Record<string, RpcReply> = {};
  const device = 'tw-rpc-0001';
  const root = `tonewall/v1/${device}/`;

  const waitFor = async (what: string, pred: () => boolean, ms = 30_000): Promise<void> => {
    const by = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > by) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async function () {
    mosquittoOrSkip(this);
    for (const peer of ['socat', 'openssl']) requirePeer(this, peer);
    dir = makeTempDir('rpc');
    broker = await startMosquitto();
    watcher = mqtt.connect(broker.url, { protocolVersion: 5, clientId: 'rpc-agent', reconnectPeriod: 0 });
    watcher.on('message', (topic, payload) => seen.push({ topic, body: payload.length ? (JSON.parse(payload.toString()) as Record<string, unknown>) : null }));
    await new Promise<void>((resolve, reject) => {
      watcher.once('connect', () => watcher.subscribe(`${root}#`, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
      watcher.once('error', reject);
    });
    const demoPort = await freeUdpPort();
    const config = parseConfig({
      device: { id: device, stateDir: join(dir, 'state') },
      card: { sim: { enabled: true, transport: 'pty', script: 'none' } },
      sip: { bindPort: 0, rtpPortMin: 32000, rtpPortMax: 32999, contactCenterUri: `sip:{called}@127.0.0.1:${demoPort}`, demoEndpoint: { enabled: true, bindPort: demoPort } },
      mqtt: { url: broker.url, embeddedBroker: { enabled: false } },
    });
    const script = parseCallScript({ port: 1, callerNumber: '5550142', ringCadence: [400, 400], audio: [{ speech: 4000 }], hangup: 'caller', seed: 3 });
    app = new Appliance({ config, log: createLogger({ level: 'info', sinks: [memorySink()] }), simScript: [script] });
    await app.start();
    await waitFor('call.answered', () => seen.some((m) => m.topic === `${root}events/call` && m.body?.['type'] === 'call.answered'));
    const answered = seen.find((m) => m.topic === `${root}events/call` && m.body?.['type'] === 'call.answered');
    const callId = String((answered?.body?.['data'] as Record<string, unknown>)['callId']);
    const rpc = (method: string, params?: Record<string, unknown>) => callRpc(watcher, { root: 'tonewall/v1', dev: device, method, requester: 'agent-1', timeoutMs: 5000, ...(params ? { params } : {}) });
    const pay = { requestId: 'rpc-pay-1', callId, fields: ['card-number', 'expiry', 'security-code'], amountMinor: 500, currency: 'EUR', reference: 'rpc' };
    replies['ping'] = await rpc('ping');
    replies['payStart'] = await rpc('pay.start', pay);
    replies['payStartAgain'] = await rpc('pay.start', pay);
    replies['payBad'] = await rpc('pay.start', { ...pay, requestId: 'rpc-pay-2', fields: ['favourite-colour'] });
    replies['hangupUnknown'] = await rpc('call.hangup', { callId: 'no-such-call' });
    replies['drain'] = await rpc('drain');
    await waitFor('pay.ended', () => seen.some((m) => m.topic === `${root}events/pay` && m.body?.['type'] === 'pay.ended'));
  });

  after(async () => {
    await app?.stop('test done');
    watcher?.end(true);
    await broker?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers ping and lists its commands in info', () => {
    assert.equal(replies['ping']?.status, 'ok');
    const info = seen.filter((m) => m.topic === `${root}info`).at(-1)?.body as { capabilities?: { rpc?: string[] } } | undefined;
    for (const m of ['ping', 'pay.start', 'pay.cancel', 'drain', 'call.hangup']) assert.ok(info?.capabilities?.rpc?.includes(m), m);
  });

  it('starts a payment on the live call, and the same requestId names the same session', () => {
    assert.equal(replies['payStart']?.status, 'ok', JSON.stringify(replies['payStart']));
    const snap = replies['payStart']?.data as Record<string, unknown>;
    assert.equal(snap['state'], 'collecting');
    assert.equal(snap['field'], 'card-number');
    assert.equal((replies['payStartAgain']?.data as Record<string, unknown>)['sessionId'], snap['sessionId']);
  });

  it('refuses bad parameters and unknown calls with a clear error', () => {
    assert.equal(replies['payBad']?.status, 'error');
    assert.match(replies['payBad']?.error?.message ?? '', /pay.start parameters rejected: fields\.0: .*card-number/);
    assert.equal(replies['hangupUnknown']?.error?.code, 'unknown_call');
  });

  it('drains: no new calls, the live one goes on', () => {
    assert.deepEqual(replies['drain']?.data, { draining: true, activeCalls: 1 });
  });

  it('ends the payment with the call: cancelled by the hang-up, masking record clean', () => {
    const ended = seen.find((m) => m.topic === `${root}events/pay` && m.body?.['type'] === 'pay.ended')?.body?.['data'] as Record<string, unknown>;
    assert.equal(ended['state'], 'cancelled');
    const masking = (ended['result'] as { masking: { faulted: boolean; secondCheck: { ran: boolean; digitsFound: number } } }).masking;
    assert.equal(masking.faulted, false);
    assert.equal(masking.secondCheck.ran, true);
    assert.equal(masking.secondCheck.digitsFound, 0);
  });

  it('keeps the masked session state retained on pay/{sessionId} while it runs and clears it at the end', () => {
    const sessionId = String((replies['payStart']?.data as Record<string, unknown>)['sessionId']);
    const snaps = seen.filter((m) => m.topic === `${root}pay/${sessionId}`);
    assert.ok(snaps.some((m) => m.body?.['state'] === 'collecting'), JSON.stringify(snaps.map((m) => m.body?.['state'])));
    assert.equal(snaps.at(-1)?.body, null, 'the last message clears the retained snapshot');
    assert.ok(!seen.some((m) => m.topic.startsWith(`${root}alarms/`)), 'no masking alarm was raised');
  });
});
