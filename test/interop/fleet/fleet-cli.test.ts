/**
 * `tonewall fleet` as an operator runs it (child processes, real exit codes) against the running
 * appliance (`tonewall run`) on Debian's mosquitto: list, call (ok, error reply, unsigned dangerous
 * command, timeout), config push (applied, rejected, unsigned payment key rejected, signed applied), watch; and the presence rule it applies.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PresenceTracker } from '../../../controller/fleet-client/presence';
import { topicMatches } from '../../../controller/fleet-client/retained';
import { CLI_JS, type ApplianceChild, spawnAppliance, writeApplianceConfig } from '../../lib/fleet-appliance-child';
import { FleetSubscriber } from '../../lib/fleet-subscriber';
import { type Mosquitto, mosquittoOrSkip, startMosquitto } from '../../lib/mosquitto';
import { freeUdpPort, makeTempDir, requirePeer } from '../../lib/sip-peers';

const DEV = 'tw-cli-0001';

describe('tonewall fleet against the running appliance (mosquitto)', function () {
  this.timeout(240_000);
  let broker: Mosquitto | undefined;
  let app: ApplianceChild | undefined;
  let dir = '';

  const fleet = (args: string[]) => {
    assert.ok(broker);
    return spawnSync(process.execPath, [CLI_JS, 'fleet', ...args, '--url', broker.url], { encoding: 'utf8', timeout: 60_000 });
  };

  before(async function () {
    mosquittoOrSkip(this);
    requirePeer(this, 'socat');
    broker = await startMosquitto();
    dir = makeTempDir('fleet-cli');
    const keys = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'fleet.pub'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'fleet.key'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const config = writeApplianceConfig(dir, { deviceId: DEV, stateDir: join(dir, 'state'), brokerUrl: broker.url, demoSipPort: await freeUdpPort(), rtpPortMin: 36800, callIntervalMs: 60_000, callDurationMs: 1000, script: 'none', fleetPublicKeyFile: join(dir, 'fleet.pub') });
    const watcher = await FleetSubscriber.connect(broker.url, [`tonewall/v1/${DEV}/info`]);
    app = spawnAppliance(config);
    await watcher.waitFor('the appliance birth (info)', (m) => m.find((x) => x.json?.['dev'] === DEV), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${app?.log().slice(-2000) ?? ''}`);
    });
    await watcher.close();
  });
  after(async () => {
    await app?.stop();
    await broker?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fleet list shows the appliance online with its connection and version', () => {
    const r = fleet(['list', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const row = (JSON.parse(r.stdout) as { dev: string; state: string; conn: number; version?: string; lastSeen?: string }[]).find((x) => x.dev === DEV);
    assert.ok(row, r.stdout);
    assert.equal(row.state, 'online');
    assert.ok(row.conn >= 1);
    assert.match(row.version ?? '', /^\d+\.\d+\.\d+/);
    assert.ok(row.lastSeen && !Number.isNaN(Date.parse(row.lastSeen)));
    const table = fleet(['list']);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^${DEV}\\s+online`, 'm'));
  });

  it('fleet call prints the reply: exit 0 ok, 1 error reply, 2 timeout or usage', () => {
    const ok = fleet(['call', DEV, 'ping']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { status: string; data: { pong: boolean } }).data.pong, true);
    const unknown = fleet(['call', DEV, 'no_such_method']);
    assert.equal(unknown.status, 1);
    assert.equal((JSON.parse(unknown.stdout) as { error: { code: string } }).error.code, 'unknown_method');
    const unsigned = fleet(['call', DEV, 'reboot', '--params', '{}']);
    assert.equal(unsigned.status, 1);
    assert.equal((JSON.parse(unsigned.stdout) as { error: { code: string } }).error.code, 'signature_required');
    const badParams = fleet(['call', DEV, 'set_log_level', '--params', '{"level":"loud"}']);
    assert.equal(badParams.status, 1);
    assert.equal((JSON.parse(badParams.stdout) as { error: { code: string } }).error.code, 'bad_params');
    const nobody = fleet(['call', 'tw-nobody-here', 'ping', '--timeout-s', '1']);
    assert.equal(nobody.status, 2);
    assert.match(nobody.stderr, /no reply to ping/);
    const usage = fleet(['call', DEV]);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /needs <device> <method>/);
    const badJson = fleet(['call', DEV, 'ping', '--params', '{nope']);
    assert.equal(badJson.status, 2);
    assert.match(badJson.stderr, /--params is not JSON/);
  });

  it('fleet config push publishes the next version and prints config/reported: applied (0), rejected with its errors (1)', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ log: { level: 'debug' } }));
    const applied = fleet(['config', 'push', DEV, '--file', good, '--timeout-s', '20']);
    assert.equal(applied.status, 0, applied.stderr);
    const a = JSON.parse(applied.stdout) as { version: number; state: string };
    assert.deepEqual([a.version, a.state], [1, 'applied']);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ log: { level: 'loud' }, mqtt: { password: 42 } }));
    const rejected = fleet(['config', 'push', DEV, '--file', bad, '--timeout-s', '20']);
    assert.equal(rejected.status, 1, rejected.stderr);
    const r = JSON.parse(rejected.stdout) as { version: number; state: string; errors: string[] };
    assert.deepEqual([r.version, r.state], [2, 'rejected']);
    assert.ok(r.errors.some((e) => e.startsWith('log.level')), r.errors.join('; '));
    // A payment key needs the fleet key's signature (the appliance has mqtt.fleetPublicKeyFile).
    const pay = join(dir, 'pay.json');
    writeFileSync(pay, JSON.stringify({ log: { level: 'debug' }, payments: { binDigits: 6 } }));
    const unsigned = fleet(['config', 'push', DEV, '--file', pay, '--timeout-s', '20']);
    assert.equal(unsigned.status, 1, unsigned.stderr);
    const u = JSON.parse(unsigned.stdout) as { version: number; state: string; errors: string[] };
    assert.deepEqual([u.version, u.state, u.errors.map((e) => e.slice(0, e.indexOf(':')))], [3, 'rejected', ['payments.binDigits']]);
    const signed = fleet(['config', 'push', DEV, '--file', pay, '--sign-key', join(dir, 'fleet.key'), '--timeout-s', '20']);
    assert.equal(signed.status, 0, signed.stderr);
    const sg = JSON.parse(signed.stdout) as { version: number; state: string };
    assert.equal(sg.version, 4);
    assert.ok(['applied', 'pending_restart'].includes(sg.state), signed.stdout);
    const missing = fleet(['config', 'push', DEV]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /needs --file/);
  });

  it('fleet watch prints one JSON line per message, retained first, with presence on status', async () => {
    assert.ok(broker);
    const child = spawn(process.execPath, [CLI_JS, 'fleet', 'watch', '--device', DEV, '--topic', 'status', '--count', '1', '--url', broker.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0] ?? '') as { topic: string; dev: string; retain: boolean; payload: { state: string }; presence: { state: string } };
    assert.deepEqual([line.topic, line.dev, line.retain, line.payload.state, line.presence.state], [`tonewall/v1/${DEV}/status`, DEV, true, 'online', 'online']);
  });
});

describe('fleet-client presence rule and topic matching (pure)', () => {
  it('ignores a status from an older conn, in any arrival order; the later status of one conn wins', () => {
    const t = new PresenceTracker();
    t.observe('d', { kind: 'status', conn: 2, ts: 2, state: 'online', reason: 'reconnect' });
    const late = t.observe('d', { kind: 'status', conn: 1, ts: 3, state: 'offline', reason: 'lwt' });
    assert.deepEqual([late.state, late.ignoredStale, late.statusConn], ['online', 1, 2]);
    const down = t.observe('d', { kind: 'status', conn: 2, ts: 4, state: 'offline', reason: 'lwt' });
    assert.deepEqual([down.state, down.reason], ['offline', 'lwt']);
    assert.equal(down.lastSeenMs, 4);
  });

  it('a newer birth (info) beyond a retained offline of an older conn shows online; equal conn does not', () => {
    const t = new PresenceTracker();
    t.observe('d', { kind: 'status', conn: 4, ts: 1, state: 'offline', reason: 'lwt' });
    assert.equal(t.observe('d', { kind: 'info', conn: 5, ts: 2, version: '1.2.3' }).state, 'online');
    const u = new PresenceTracker();
    u.observe('e', { kind: 'status', conn: 5, ts: 1, state: 'offline', reason: 'shutdown' });
    const e = u.observe('e', { kind: 'info', conn: 5, ts: 2, version: '1.2.3' });
    assert.deepEqual([e.state, e.version], ['offline', '1.2.3']);
  });

  it('matches MQTT topic filters', () => {
    assert.equal(topicMatches('a/+/c', 'a/b/c'), true);
    assert.equal(topicMatches('a/#', 'a'), true);
    assert.equal(topicMatches('a/+', 'a/b/c'), false);
    assert.equal(topicMatches('a/b', 'a/b/c'), false);
  });
});
