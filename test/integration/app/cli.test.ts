/**
 * The `tonewall` command as a user runs it: a child process, real files, real exit codes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../lib/mosquitto';
import { freeUdpPort, requirePeer } from '../../lib/sip-peers';

const CLI = join(__dirname, '..', '..', '..', 'controller', 'app', 'cli.js');

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

describe('tonewall CLI', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start on a malformed config file, naming the file, the key and the problem (exit 1)', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ sip: { bindPort: 'five thousand' }, mqtt: { urll: 'mqtt://x' } }));
    const r = run(['run', '--config', file]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`invalid configuration \\(${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    assert.match(r.stderr, /sip\.bindPort: "five thousand" is not valid: .*expected number/);
    assert.match(r.stderr, /mqtt\.urll: unknown key \(did you mean "url"\?\)/);
  });

  it('refuses a file that is not JSON with the parser\'s message', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ "device": ');
    const r = run(['config', 'check', '--config', file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not valid JSON/);
  });

  it('config check prints the effective configuration with secrets hidden', () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify({ mqtt: { password: 's3cret-value', username: 'tw-1' } }));
    const r = run(['config', 'check', '--config', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /configuration valid/);
    assert.ok(!r.stdout.includes('s3cret-value'));
    assert.match(r.stdout, /"password": "\*\*\*"/);
  });

  it('an unknown command prints usage and exits 2', () => {
    const r = run(['frobnicate']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });

  it('demo --once --json places one scripted call, takes a payment on it, and prints it as MQTT reported it, with no digit of the card anywhere (exit 0)', async function () {
    requirePeer(this, 'socat');
    const demoPort = String(await freeUdpPort());
    const env = {
      TONEWALL_DEVICE_STATE_DIR: join(dir, 'state'),
      TONEWALL_MQTT_EMBEDDED_BROKER_PORT: String(await freePort()),
      TONEWALL_SIP_BIND_PORT: String(await freeUdpPort()),
      TONEWALL_SIP_DEMO_ENDPOINT_BIND_PORT: demoPort,
      TONEWALL_SIP_CONTACT_CENTER_URI: `sip:{called}@127.0.0.1:${demoPort}`,
      TONEWALL_CARD_SIM_CALL_DURATION_MS: '2000',
    };
    requirePeer(this, 'openssl');
    const card = '4111111111111111';
    const child = spawn(process.execPath, [CLI, 'demo', '--once', '--json', '--card', card, '--expiry', '1230', '--cvv', '737'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, err);
    const summary = JSON.parse(out) as { callId: string; status: string; events: { type: string; id: string }[]; ended: Record<string, unknown>; agent: { packetsReceived: number; nonSilent: boolean } };
    assert.match(summary.callId, /^[0-9a-f-]{36}$/);
    assert.equal(summary.status, 'online');
    assert.deepEqual(summary.events.map((e) => e.type), ['call.started', 'call.answered', 'call.ended']);
    assert.equal(summary.ended['answered'], true);
    assert.ok(summary.agent.packetsReceived > 100, `agent received ${summary.agent.packetsReceived} packets`);
    assert.equal(summary.agent.nonSilent, true);
    const pay = (summary as unknown as { payment: { state: string; result: { outcome: string; last4: string; masking: { maskedTones: number; secondCheck: { ran: boolean; digitsFound: number } } } } }).payment;
    assert.equal(pay.state, 'approved');
    assert.equal(pay.result.last4, '1111');
    assert.ok(pay.result.masking.maskedTones >= 23, `masked ${pay.result.masking.maskedTones} tones`);
    assert.equal(pay.result.masking.secondCheck.ran, true);
    assert.equal(pay.result.masking.secondCheck.digitsFound, 0);
    // Expiry and code are too short to search for in output full of ids and timestamps; the leak test
    // of the payments issue scans for them with per-session canaries.
    for (const text of [out, err]) assert.ok(!text.includes(card) && !text.includes('4111 1111'), 'the card number appears in the demo output');
    const dbFiles = ['tonewall.db', 'tonewall.db-wal'].map((f) => join(dir, 'state', f)).filter((f) => existsSync(f));
    assert.ok(dbFiles.length > 0);
    for (const f of dbFiles) assert.ok(!readFileSync(f).includes(card), `${f} holds the card number`);
  });

  it('demo --once --json on the simulated E1 PRI card: the call comes in by Q.931 on span 1 and reaches the contact center with audio (exit 0)', async function () {
    requirePeer(this, 'socat');
    const demoPort = String(await freeUdpPort());
    const env = {
      TONEWALL_DEVICE_STATE_DIR: join(dir, 'state'),
      TONEWALL_CARD_SIM_MODEL: 'e1-pri',
      TONEWALL_MQTT_EMBEDDED_BROKER_PORT: String(await freePort()),
      TONEWALL_SIP_BIND_PORT: String(await freeUdpPort()),
      TONEWALL_SIP_DEMO_ENDPOINT_BIND_PORT: demoPort,
      TONEWALL_SIP_CONTACT_CENTER_URI: `sip:{called}@127.0.0.1:${demoPort}`,
      TONEWALL_CARD_SIM_CALL_DURATION_MS: '2000',
    };
    const child = spawn(process.execPath, [CLI, 'demo', '--once', '--json', '--no-payment'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, err);
    const summary = JSON.parse(out) as { events: { type: string }[]; ended: Record<string, unknown>; agent: { packetsReceived: number; nonSilent: boolean }; payment: unknown };
    assert.deepEqual(summary.events.map((e) => e.type), ['call.started', 'call.answered', 'call.ended']);
    assert.equal(summary.ended['trunk'], 'span/1');
    assert.equal(summary.ended['q850'], 16);
    assert.equal(summary.ended['endBy'], 'pstn');
    assert.ok(summary.agent.packetsReceived > 100, `agent received ${summary.agent.packetsReceived} packets`);
    assert.equal(summary.agent.nonSilent, true);
    assert.equal(summary.payment, null);
  });
});
