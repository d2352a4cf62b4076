/**
 * Fleet commands against the running appliance: Debian mosquitto (MQTT 5), the simulated card with
 * one scripted caller, the embedded demo contact center. The agent's side sends `ping`,
 * `pay.start` on the live call (twice: idempotent by requestId), `call.hangup` for an unknown call,
 * and `drain`; the payment ends with the call and is reported on events/pay. Then the rest of the
 * API: a drained `restart` that waits for that call, signed and unsigned `reboot`/`factory_reset`
 * (host control is a recording fake), `span.loopback`, `collect_diagnostics`, retained `health`,
 * `metrics`, `config/desired` → `config/reported`, and `_fleet/rebirth`.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger, memorySink } from '../../../hw/base/logger';
import { parseCallScript } from '../../../hw/sim/call-script';
import { Appliance } from '../../../controller/app/appliance';
import type { SystemControl } from '../../../controller/app/fleet-commands';
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
  const fleetKey = generateKeyPairSync('ed25519');
  const host: string[] = [];
  const system: SystemControl = { restart: (r) => void host.push(`restart:${r}`), reboot: (r) => void host.push(`reboot:${r}`), factoryReset: (r) => void host.push(`factory_reset:${r}`) };
  const last = (topic: string): Record<string, unknown> | null | undefined => seen.filter((m) => m.topic === `${root}${topic}`).at(-1)?.body;

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
    mkdirSync(join(dir, 'state'), { recursive: true });
    writeFileSync(join(dir, 'state', 'tonewall.log'), ['{"msg":"before start"}', '{"msg":"a stray 4111111111111111"}', '{"msg":"last line"}', ''].join('\n'));
    const keyFile = join(dir, 'fleet.pub.pem');
    writeFileSync(keyFile, fleetKey.publicKey.export({ type: 'spki', format: 'pem' }));
    const config = parseConfig({
      device: { id: device, stateDir: join(dir, 'state') },
      card: { sim: { enabled: true, transport: 'pty', script: 'none' } },
      sip: { bindPort: 0, rtpPortMin: 32000, rtpPortMax: 32999, contactCenterUri: `sip:{called}@127.0.0.1:${demoPort}`, demoEndpoint: { enabled: true, bindPort: demoPort } },
      mqtt: { url: broker.url, embeddedBroker: { enabled: false }, fleetPublicKeyFile: keyFile, metricsIntervalS: 5, healthSampleS: 1, healthDebounceMs: 0, rebirthJitterMaxS: 0 },
      log: { file: 'tonewall.log' },
    });
    const script = parseCallScript({ port: 1, callerNumber: '5550142', ringCadence: [400, 400], audio: [{ speech: 4000 }], hangup: 'caller', seed: 3 });
    app = new Appliance({ config, log: createLogger({ level: 'info', sinks: [memorySink()] }), simScript: [script], system });
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
    replies['restart'] = await rpc('restart', { timeoutS: 120, reason: 'drained test restart' });
    replies['restartAgain'] = await rpc('restart', { timeoutS: 120 });
    replies['forceUnsigned'] = await rpc('restart', { force: true });
    await waitFor('pay.ended', () => seen.some((m) => m.topic === `${root}events/pay` && m.body?.['type'] === 'pay.ended'));
    await waitFor('the drained restart', () => host.includes('restart:drained test restart'));
    const signed = (method: string, params: Record<string, unknown>) => callRpc(watcher, { root: 'tonewall/v1', dev: device, method, requester: 'agent-1', timeoutMs: 5000, params, sign: fleetKey.privateKey, exp: Date.now() + 60_000 });
    replies['rebootUnsigned'] = await rpc('reboot', {});
    replies['rebootSigned'] = await signed('reboot', { reason: 'test reboot' });
    await waitFor('the reboot', () => host.includes('reboot:test reboot'));
    replies['loopback'] = await rpc('span.loopback', { span: 1, mode: 'line', durationS: 10 });
    replies['diag'] = await rpc('collect_diagnostics', { logLines: 50 });
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

  it('restart, drained: accepted at once, waits for the live call, then restarts; one at a time; force must be signed', () => {
    assert.equal(replies['restart']?.status, 'accepted', JSON.stringify(replies['restart']));
    assert.deepEqual(replies['restart']?.data, { forced: false, draining: true, activeCalls: 1, timeoutS: 120 });
    assert.equal(replies['restartAgain']?.error?.code, 'busy');
    assert.equal(replies['forceUnsigned']?.error?.code, 'signature_required');
    assert.ok(host.includes('restart:drained test restart'));
    const ev = seen.find((m) => m.topic === `${root}events/system` && m.body?.['type'] === 'system.restart');
    assert.deepEqual((ev?.body?.['data'] as Record<string, unknown> | undefined)?.['forced'], false);
    const endedAt = seen.findIndex((m) => m.topic === `${root}events/call` && m.body?.['type'] === 'call.ended');
    assert.ok(endedAt >= 0 && endedAt < seen.indexOf(ev ?? seen[0] ?? { topic: '', body: null }), 'the restart came after the call ended');
  });

  it('reboot needs the fleet signature; signed, it is accepted and the host reboots', () => {
    assert.equal(replies['rebootUnsigned']?.error?.code, 'signature_required');
    assert.equal(replies['rebootSigned']?.status, 'accepted');
    assert.ok(host.includes('reboot:test reboot'));
    assert.ok(seen.some((m) => m.topic === `${root}events/system` && m.body?.['type'] === 'system.reboot'));
  });

  it('span.loopback without a card hook answers not_supported', () => {
    assert.equal(replies['loopback']?.error?.code, 'not_supported');
  });

  it('collect_diagnostics: versions, health, store figures, redacted config and the log tail without card-like lines', () => {
    assert.equal(replies['diag']?.status, 'ok', JSON.stringify(replies['diag']?.error));
    const d = replies['diag']?.data as { versions: Record<string, unknown>; store: { schemaVersion: number }; config: { mqtt: { url: string } }; health: { overall: string } | null; log: { lines: string[]; logLinesWithheld: number } };
    assert.equal(d.versions['node'], process.version);
    assert.ok(d.store.schemaVersion >= 3);
    assert.equal(d.config.mqtt.url, broker.url);
    assert.ok(d.health && ['ok', 'degraded', 'failed'].includes(d.health.overall));
    assert.deepEqual(d.log.lines, ['{"msg":"before start"}', '{"msg":"last line"}']);
    assert.equal(d.log.logLinesWithheld, 1);
  });

  it('health is retained with the card link, outbox and disk checks; metrics list their names in info', async () => {
    await waitFor('metrics', () => seen.some((m) => m.topic === `${root}metrics`));
    const h = last('health') as { overall: string; checks: Record<string, { status: string }> } | undefined;
    assert.equal(h?.checks['cardLink']?.status, 'ok');
    assert.equal(h?.checks['outbox']?.status, 'ok');
    assert.ok(h?.checks['disk']);
    const m = last('metrics') as { intervalS: number; counters: Record<string, number>; gauges: Record<string, number> };
    assert.equal(m.intervalS, 5);
    assert.ok((m.counters['calls.total'] ?? 0) >= 1);
    assert.ok((m.gauges['process.rssBytes'] ?? 0) > 0);
    const info = last('info') as { capabilities: { metrics: string[]; rpc: string[] } };
    for (const n of ['calls.active', 'calls.total', 'outbox.depth', 'fleet.guardRefused', 'logger.cardGuardRefusals', 'eventLoop.lagP99Ms']) assert.ok(info.capabilities.metrics.includes(n), n);
    for (const n of ['restart', 'reboot', 'factory_reset', 'collect_diagnostics', 'span.loopback', 'set_log_level']) assert.ok(info.capabilities.rpc.includes(n), n);
  });

  it('config/desired: a live key is applied, a bad one rejected with its path, a restart key pending; lower versions ignored', async () => {
    const desired = (v: unknown) => new Promise<void>((resolve, reject) => watcher.publish(`${root}config/desired`, JSON.stringify(v), { qos: 1, retain: true }, (e) => (e ? reject(e) : resolve())));
    const reported = (version: number) => () => (last('config/reported') as { version?: number } | undefined)?.version === version;
    await desired({ version: 1, config: { log: { level: 'debug' } } });
    await waitFor('config/reported v1', reported(1));
    assert.equal(last('config/reported')?.['state'], 'applied');
    await desired({ version: 2, config: { sip: { ptimeMs: 25 } } });
    await waitFor('config/reported v2', reported(2));
    assert.equal(last('config/reported')?.['state'], 'rejected');
    assert.match(String((last('config/reported')?.['errors'] as string[])[0]), /^sip\.ptimeMs: /);
    await desired({ version: 3, config: { sip: { ptimeMs: 30 } } });
    await waitFor('config/reported v3', reported(3));
    assert.deepEqual([last('config/reported')?.['state'], last('config/reported')?.['restartKeys']], ['pending_restart', ['sip.ptimeMs']]);
    const before = seen.filter((m) => m.topic === `${root}config/reported`).length;
    await desired({ version: 2, config: { log: { level: 'warn' } } });
    await callRpc(watcher, { root: 'tonewall/v1', dev: device, method: 'ping', requester: 'agent-1', timeoutMs: 5000 });
    assert.equal(seen.filter((m) => m.topic === `${root}config/reported`).length, before, 'a lower version is ignored');
    assert.equal(app.store?.fleetConfig.get().version, 3);
    await new Promise<void>((resolve) => watcher.publish(`${root}config/desired`, '', { qos: 1, retain: true }, () => resolve()));
  });

  it('_fleet/rebirth republishes status, info and the retained state', async () => {
    const count = (t: string) => seen.filter((m) => m.topic === `${root}${t}`).length;
    const [status, health, reported] = [count('status'), count('health'), count('config/reported')];
    await new Promise<void>((resolve) => watcher.publish('tonewall/v1/_fleet/rebirth', '{}', { qos: 1 }, () => resolve()));
    await waitFor('rebirth', () => count('status') > status && count('config/reported') > reported);
    assert.ok(count('health') > health);
  });
});
