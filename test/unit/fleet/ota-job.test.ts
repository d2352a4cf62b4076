/**
 * `ota/job` decoding, its signature, and the update state machine's transition table
 * (controller/fleet/ota/job.ts, states.ts; docs/mqtt/ota.md).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { TonewallError } from '../../../hw/base/errors';
import { decodeOtaJob, jobSignatureProblem, signOtaJob } from '../../../controller/fleet/ota/job';
import { assertTransition, canTransition, isCancelable, isTerminal, TERMINAL_OTA_STATES } from '../../../controller/fleet/ota/states';
import { OTA_STATES, type OtaState } from '../../../controller/fleet/payload-schemas';

const key = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const SHA = 'a'.repeat(64);
const job = (extra: Record<string, unknown> = {}): Record<string, unknown> & { jobId: string } => ({
  jobId: 'job-1',
  version: '1.2.0',
  artifact: { url: 'https://updates.example.net/tonewall-1.2.0.bundle', sha256: SHA, size: 1000 },
  ...extra,
});
const payload = (o: object): Buffer => Buffer.from(JSON.stringify(o));

function rejects(buf: Buffer, pattern: RegExp): void {
  assert.throws(
    () => decodeOtaJob(buf),
    (err: unknown) => err instanceof TonewallError && err.code === 'EOTA_JOB' && pattern.test(err.message),
  );
}

describe('fleet ota: job decoder and signature', () => {
  it('an empty payload (retained job cleared) is a cancel', () => {
    assert.deepEqual(decodeOtaJob(Buffer.alloc(0)), { kind: 'cancel' });
  });

  it('decodes a signed job with policy defaults and verifies its signature with the fleet key', () => {
    const d = decodeOtaJob(payload(signOtaJob(key.privateKey, job())));
    assert.equal(d.kind, 'job');
    if (d.kind !== 'job') return;
    assert.equal(d.job.version, '1.2.0');
    assert.deepEqual(d.job.policy, { requireDrain: true, drainTimeoutSec: 1800, healthGateSec: 600 });
    assert.equal(d.job.artifact.format, 'tonewall-app-tar');
    assert.equal(jobSignatureProblem(d.job, d.canonical, key.publicKey), undefined);
  });

  it('refuses an unsigned job, a job signed by another key, a tampered job, and any job without a fleet key', () => {
    const unsigned = decodeOtaJob(payload(job()));
    assert.equal(unsigned.kind, 'job');
    if (unsigned.kind !== 'job') return;
    assert.match(jobSignatureProblem(unsigned.job, unsigned.canonical, key.publicKey) ?? '', /no signature/);
    const foreign = decodeOtaJob(payload(signOtaJob(other.privateKey, job())));
    if (foreign.kind !== 'job') return assert.fail('not a job');
    assert.match(jobSignatureProblem(foreign.job, foreign.canonical, key.publicKey) ?? '', /does not verify/);
    const signed = signOtaJob(key.privateKey, job());
    const tampered = decodeOtaJob(payload({ ...signed, artifact: { url: 'https://evil.example.net/x.bundle', sha256: SHA, size: 1000 } }));
    if (tampered.kind !== 'job') return assert.fail('not a job');
    assert.match(jobSignatureProblem(tampered.job, tampered.canonical, key.publicKey) ?? '', /does not verify/);
    const good = decodeOtaJob(payload(signed));
    if (good.kind !== 'job') return assert.fail('not a job');
    assert.match(jobSignatureProblem(good.job, good.canonical, undefined) ?? '', /no fleet key is configured/);
  });

  it('rejects malformed jobs with a message naming the field and what was expected', () => {
    rejects(Buffer.from('{not json'), /not JSON/);
    rejects(Buffer.from('[1]'), /not a JSON object/);
    rejects(payload(job({ jobId: 'a/b' })), /jobId: must be 1-128 characters/);
    rejects(payload(job({ artifact: { url: 'http://x.example/b', sha256: SHA, size: 5 } })), /artifact\.url: must be an https:\/\/ URL/);
    rejects(payload(job({ artifact: { url: 'https://x.example/b', sha256: 'ABC', size: 5 } })), /artifact\.sha256: must be 64 lowercase hex digits/);
    rejects(payload(job({ artifact: { url: 'https://x.example/b', sha256: SHA, size: 0 } })), /artifact\.size/);
    rejects(payload(job({ extra: 1 })), /extra/);
    rejects(payload(job({ window: { notBefore: '2026-11-22T10:00:00Z', notAfter: '2026-11-22T09:00:00Z' } })), /notAfter must be later than window\.notBefore/);
    rejects(payload(job({ window: { notBefore: 'tomorrow' } })), /window\.notBefore/);
    rejects(payload(job({ policy: { drainTimeoutSec: 0 } })), /policy\.drainTimeoutSec/);
    rejects(Buffer.alloc(20_000, 0x20), /at most 16384 accepted/);
  });
});

describe('fleet ota: the state machine', () => {
  const legal: [OtaState, OtaState][] = [
    ['queued', 'waiting_window'], ['queued', 'downloading'], ['queued', 'succeeded'], ['queued', 'rejected'], ['queued', 'failed'], ['queued', 'canceled'],
    ['waiting_window', 'downloading'], ['waiting_window', 'queued'], ['waiting_window', 'failed'], ['waiting_window', 'canceled'],
    ['downloading', 'verifying'], ['downloading', 'queued'], ['downloading', 'failed'], ['downloading', 'canceled'],
    ['verifying', 'draining'], ['verifying', 'installing'], ['verifying', 'queued'], ['verifying', 'failed'], ['verifying', 'canceled'],
    ['draining', 'installing'], ['draining', 'queued'], ['draining', 'failed'], ['draining', 'canceled'],
    ['installing', 'rebooting'], ['installing', 'failed'],
    ['rebooting', 'health_gate'], ['rebooting', 'rolled_back'], ['rebooting', 'failed'],
    ['health_gate', 'succeeded'], ['health_gate', 'rolled_back'],
  ];

  it('allows exactly the edges of the table; every other pair is refused naming both states', () => {
    const allowed = new Set(legal.map(([a, b]) => `${a}>${b}`));
    let refused = 0;
    for (const from of OTA_STATES) {
      for (const to of OTA_STATES) {
        const ok = allowed.has(`${from}>${to}`);
        assert.equal(canTransition(from, to), ok, `${from} → ${to}`);
        if (!ok) {
          refused++;
          assert.throws(() => assertTransition(from, to), (e: unknown) => e instanceof TonewallError && e.code === 'EOTA_STATE' && e.message.includes(`"${from}"`) && e.message.includes(`"${to}"`));
        } else assert.doesNotThrow(() => assertTransition(from, to));
      }
    }
    assert.equal(refused, OTA_STATES.length * OTA_STATES.length - legal.length);
  });

  it('terminal states go nowhere; nothing is cancelable once installing has begun', () => {
    assert.deepEqual([...TERMINAL_OTA_STATES].sort(), ['canceled', 'failed', 'rejected', 'rolled_back', 'succeeded']);
    for (const s of TERMINAL_OTA_STATES) {
      assert.ok(isTerminal(s));
      for (const to of OTA_STATES) assert.equal(canTransition(s, to), false);
    }
    assert.deepEqual(OTA_STATES.filter(isCancelable), ['queued', 'waiting_window', 'draining', 'downloading', 'verifying']);
  });
});
