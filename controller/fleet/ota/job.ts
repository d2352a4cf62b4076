/**
 * `ota/job` (inbound, retained; docs/mqtt/ota.md): the fleet's signed update job.
 *
 *   {jobId, version, artifact: {url, sha256, size, format}, window?: {notBefore?, notAfter?},
 *    policy?: {requireDrain, drainTimeoutSec, healthGateSec, healthGateTimeoutSec?}, actor?, sig}
 *
 * An empty payload (the retained job cleared) cancels. `sig` is the fleet key's Ed25519 signature
 * (base64) of `canonicalJob(job)`: UTF-8 of `ota/job\n{jobId}\n{JSON of the job without sig}`, the
 * JSON being the object as sent (key order kept) with `sig` removed.
 */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { TonewallError } from '../../../hw/base/errors';
import { issuesLine } from '../payload-schemas';
import { signRequest, verifyRequestSignature } from '../rpc/signature';

/** Largest `ota/job` payload read (bytes); a bigger one is rejected before parsing. */
export const MAX_OTA_JOB_BYTES = 16 * 1024;

const isoTime = z.iso.datetime({ offset: true });

export const otaJobSchema = z.strictObject({
  jobId: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1-128 characters [A-Za-z0-9_.-]'),
  version: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/, 'must be a version of 1-64 characters [0-9A-Za-z.+_-]'),
  artifact: z.strictObject({
    url: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).max(2048),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
    size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    format: z.literal('tonewall-app-tar').default('tonewall-app-tar'),
  }),
  window: z
    .strictObject({
      notBefore: isoTime.optional(),
      notAfter: isoTime.optional(),
    })
    .optional(),
  policy: z
    .strictObject({
      /** Wait for active calls (and with them payment sessions) to end before installing. */
      requireDrain: z.boolean().default(true),
      drainTimeoutSec: z.number().int().min(1).max(86400).default(1800),
      /** The new version must stay healthy this long before it is committed. */
      healthGateSec: z.number().int().min(1).max(86400).default(600),
      /** Give up (roll back) when the gate has not passed by then; default 2 × healthGateSec + 60. */
      healthGateTimeoutSec: z.number().int().min(1).max(172800).optional(),
    })
    .prefault({}),
  actor: z.string().min(1).max(128).optional(),
  sig: z.string().max(256).optional(),
});

export type OtaJob = z.infer<typeof otaJobSchema>;

/** The decoded job and the signature input; `cancel` for an empty payload. */
export type DecodedOtaJob = { kind: 'cancel' } | { kind: 'job'; job: OtaJob; canonical: string };

/** The signed bytes of a job: `ota/job\n{jobId}\n{JSON of the job as sent, sig removed}`. */
export function canonicalJob(jobId: string, jobWithoutSig: object): string {
  return `ota/job\n${jobId}\n${JSON.stringify(jobWithoutSig)}`;
}

/**
 * Decodes an `ota/job` payload. Throws EOTA_JOB with a message naming every problem (paths and
 * expectations; never echoes the payload).
 */
export function decodeOtaJob(payload: Buffer): DecodedOtaJob {
  if (payload.length === 0) return { kind: 'cancel' };
  if (payload.length > MAX_OTA_JOB_BYTES) throw new TonewallError('EOTA_JOB', `ota/job payload is ${payload.length} bytes; at most ${MAX_OTA_JOB_BYTES} accepted`);
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new TonewallError('EOTA_JOB', 'ota/job payload is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TonewallError('EOTA_JOB', 'ota/job payload is not a JSON object');
  const r = otaJobSchema.safeParse(json);
  if (!r.success) throw new TonewallError('EOTA_JOB', `ota/job is invalid: ${issuesLine(r.error)}`);
  const window = r.data.window;
  if (window?.notBefore && window.notAfter && Date.parse(window.notAfter) <= Date.parse(window.notBefore)) {
    throw new TonewallError('EOTA_JOB', 'ota/job is invalid: window.notAfter must be later than window.notBefore');
  }
  const { sig: _sig, ...unsigned } = json as Record<string, unknown>;
  return { kind: 'job', job: r.data, canonical: canonicalJob(r.data.jobId, unsigned) };
}

/** Why a job's signature is not acceptable, or undefined when it is (never throws). */
export function jobSignatureProblem(job: OtaJob, canonical: string, fleetKey: KeyObject | undefined): string | undefined {
  if (!fleetKey) return 'no fleet key is configured (mqtt.fleetPublicKeyFile): update jobs must be signed';
  if (job.sig === undefined) return 'the job has no signature (sig)';
  if (!verifyRequestSignature(fleetKey, canonical, job.sig)) return 'the job signature does not verify with the fleet key';
  return undefined;
}

/** Fleet side: the job object with `sig` added (the CLI and tests). */
export function signOtaJob(privateKey: string | KeyObject, job: Record<string, unknown> & { jobId: string }): Record<string, unknown> {
  const { sig: _old, ...unsigned } = job;
  return { ...unsigned, sig: signRequest(privateKey, canonicalJob(job.jobId, unsigned)) };
}
