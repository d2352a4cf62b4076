/**
 * Fuzzing `ota/job` decoding and its signature check (controller/fleet/ota/job.ts; docs/mqtt/ota.md).
 * ≥ 1,000,000 payloads with a fixed seed (TW_FUZZ_RUNS to change), `npm run test:fuzz`.
 *
 * Inputs: raw bytes, any JSON, job-shaped objects with fields drawn from near-valid and hostile
 * values, fleet-signed jobs (a pool signed up front) with one field changed after signing, and
 * truncations. Per payload: decodeOtaJob returns `cancel` only for the empty payload, a job whose
 * fields hold the schema's promises (https URL, 64-hex sha256, positive size, window in order), or
 * throws EOTA_JOB with a message naming the fault that never contains a canary planted in the
 * input; jobSignatureProblem never throws, and it accepts a job only when the payload is exactly
 * one of the signed pool (a changed field never verifies).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { decodeOtaJob, jobSignatureProblem, signOtaJob } from '../../../controller/fleet/ota/job';
import { objectWithKeys, payloadBytes, scalar } from '../../lib/fleet-fuzz';
import { FUZZ_RUNS, assertClearRejection, runFuzz } from '../../lib/fuzz-run';

const keys = generateKeyPairSync('ed25519');
const CANARY = 'C4NARY-ota';
const KEYS = ['jobId', 'version', 'artifact', 'url', 'sha256', 'size', 'format', 'window', 'notBefore', 'notAfter', 'policy', 'requireDrain', 'drainTimeoutSec', 'healthGateSec', 'healthGateTimeoutSec', 'actor', 'sig'] as const;
const SHA = (n: number): string => n.toString(16).padStart(64, '0');

const nearValid = {
  jobId: fc.oneof(fc.constantFrom('job-1', 'j.2_3', 'a'.repeat(128), 'a'.repeat(129), '', 'x/y', `${CANARY}/`), scalar),
  version: fc.oneof(fc.constantFrom('1.2.0', '2.0.0-rc.1', '', '-1', `${CANARY} 1`), scalar),
  artifact: fc.oneof(
    fc.record(
      {
        url: fc.oneof(fc.constantFrom('https://u.example/b', 'http://u.example/b', 'ftp://x', 'https://', `https://${CANARY}.example/a b`), scalar),
        sha256: fc.oneof(fc.constantFrom(SHA(1), SHA(1).toUpperCase(), 'abc', ''), scalar),
        size: fc.oneof(fc.constantFrom(1, 0, -1, 1.5, 2 ** 53), scalar),
        format: fc.oneof(fc.constant('tonewall-app-tar'), scalar),
      },
      { requiredKeys: [] },
    ),
    scalar,
  ),
  window: fc.oneof(
    fc.record({ notBefore: fc.oneof(fc.constantFrom('2026-11-22T10:00:00Z', '2026-11-22T10:00:00+01:00', 'tomorrow'), scalar), notAfter: fc.oneof(fc.constantFrom('2026-11-22T09:00:00Z', '2026-11-23T10:00:00Z'), scalar) }, { requiredKeys: [] }),
    scalar,
  ),
  policy: fc.oneof(fc.record({ requireDrain: fc.oneof(fc.boolean(), scalar), drainTimeoutSec: fc.oneof(fc.constantFrom(1, 0, 86401), scalar), healthGateSec: fc.oneof(fc.constantFrom(1, 600, 0), scalar) }, { requiredKeys: [] }), scalar),
  actor: scalar,
  sig: scalar,
};

/** Valid jobs signed by the fleet key, made once (signing per input would dominate the run). */
const POOL = Array.from({ length: 64 }, (_v, i) =>
  signOtaJob(keys.privateKey, {
    jobId: `job-${i}`,
    version: `1.${i}.0`,
    artifact: { url: `https://updates.example.net/b/${i}.bundle`, sha256: SHA(i), size: 1000 + i },
    ...(i % 2 ? { window: { notBefore: '2026-11-22T10:00:00Z', notAfter: '2026-11-23T10:00:00Z' } } : {}),
    ...(i % 3 ? { policy: { requireDrain: i % 2 === 0, drainTimeoutSec: 60 + i, healthGateSec: 30 } } : {}),
  }),
);
const POOL_TEXT = new Set(POOL.map((j) => JSON.stringify(j)));

const signedAndChanged = fc.tuple(fc.integer({ min: 0, max: POOL.length - 1 }), fc.constantFrom(...KEYS, 'none'), scalar).map(([i, field, value]) => {
  const job: Record<string, unknown> = structuredClone<Record<string, unknown>>(POOL[i] ?? {});
  if (field === 'none') return job;
  const artifact = job['artifact'] as Record<string, unknown>;
  if (field === 'url' || field === 'sha256' || field === 'size' || field === 'format') artifact[field] = value;
  else job[field] = value;
  return job;
});

describe('fuzz: ota/job decoding', function () {
  this.timeout(1_800_000);

  it(`${FUZZ_RUNS} payloads: no crash, clear EOTA_JOB rejections without echo, only untouched fleet-signed jobs verify`, async () => {
    let verified = 0;
    let decoded = 0;
    const structured = fc.oneof(
      { weight: 3, arbitrary: fc.record(nearValid, { requiredKeys: [] }) },
      { weight: 2, arbitrary: objectWithKeys(KEYS, 2) },
      { weight: 3, arbitrary: signedAndChanged },
    );
    const property = fc.property(fc.oneof({ weight: 20, arbitrary: payloadBytes(structured) }, { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) }), (payload) => {
      let d;
      try {
        d = decodeOtaJob(payload);
      } catch (err) {
        assertClearRejection(err, 'EOTA_JOB');
        assert.ok(!(err as Error).message.includes(CANARY), 'the rejection echoes the payload');
        return;
      }
      if (d.kind === 'cancel') {
        assert.equal(payload.length, 0, 'only the empty payload cancels');
        return;
      }
      decoded++;
      const j = d.job;
      assert.match(j.jobId, /^[A-Za-z0-9_.-]{1,128}$/);
      assert.ok(j.artifact.url.startsWith('https://'), j.artifact.url);
      assert.match(j.artifact.sha256, /^[0-9a-f]{64}$/);
      assert.ok(Number.isSafeInteger(j.artifact.size) && j.artifact.size >= 1);
      if (j.window?.notBefore && j.window.notAfter) assert.ok(Date.parse(j.window.notAfter) > Date.parse(j.window.notBefore));
      const problem = jobSignatureProblem(j, d.canonical, keys.publicKey);
      if (problem === undefined) {
        verified++;
        assert.ok(POOL_TEXT.has(payload.toString('utf8')), 'a job that verifies is exactly one the fleet signed');
      } else assert.ok(problem.length > 10);
    });
    await runFuzz('ota/job', property, 0x07a0_70b5);
    assert.ok(decoded > 0 && verified > 0, `the generators reach decoded (${decoded}) and verified (${verified}) jobs`);
  });
});
