/**
 * Update jobs as the device ran them (`ota/job` → `ota/state`, docs/mqtt/ota.md): one row per job
 * id, updated on every state change together with the `events/ota` outbox record that reports it
 * (one transaction). A job id seen before is never run again; the row survives restarts so a job
 * interrupted mid-way resumes (`resumes` counts how often) or ends cleanly.
 */
import type Database from 'better-sqlite3';
import type { Clock } from '../../hw/base/clock';
import { TonewallError } from '../../hw/base/errors';

export interface OtaJobRecord {
  jobId: string;
  state: string;
  progress: number;
  from: string;
  to: string;
  slot: string;
  error?: string;
  /** The job as decoded (JSON text), for resuming. */
  job: string;
  /** Its signed bytes (job.ts canonicalJob). */
  canonical: string;
  resumes: number;
  createdMs: number;
  updatedMs: number;
}

interface Row {
  job_id: string;
  state: string;
  progress: number;
  version_from: string;
  version_to: string;
  slot: string;
  error: string | null;
  job: string;
  canonical: string;
  resumes: number;
  created_ms: number;
  updated_ms: number;
}

const toRecord = (r: Row): OtaJobRecord => ({
  jobId: r.job_id,
  state: r.state,
  progress: r.progress,
  from: r.version_from,
  to: r.version_to,
  slot: r.slot,
  ...(r.error !== null ? { error: r.error } : {}),
  job: r.job,
  canonical: r.canonical,
  resumes: r.resumes,
  createdMs: r.created_ms,
  updatedMs: r.updated_ms,
});

export class OtaJobs {
  constructor(
    private readonly db: Database.Database,
    private readonly clock: Clock,
  ) {}

  get(jobId: string): OtaJobRecord | undefined {
    const r = this.db.prepare('SELECT * FROM ota_jobs WHERE job_id = ?').get(jobId) as Row | undefined;
    return r ? toRecord(r) : undefined;
  }

  /** The most recently updated job (the one `ota/state` shows). */
  latest(): OtaJobRecord | undefined {
    const r = this.db.prepare('SELECT * FROM ota_jobs ORDER BY updated_ms DESC, rowid DESC LIMIT 1').get() as Row | undefined;
    return r ? toRecord(r) : undefined;
  }

  /** Creates the row of a new job; EOTA_STORE when the id exists. */
  insert(r: Omit<OtaJobRecord, 'createdMs' | 'updatedMs' | 'resumes'>): void {
    const now = this.clock.now();
    try {
      this.db
        .prepare('INSERT INTO ota_jobs (job_id, state, progress, version_from, version_to, slot, error, job, canonical, resumes, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)')
        .run(r.jobId, r.state, r.progress, r.from, r.to, r.slot, r.error ?? null, r.job, r.canonical, now, now);
    } catch (err) {
      throw new TonewallError('EOTA_STORE', `update job ${r.jobId} cannot be recorded: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  update(jobId: string, change: { state: string; progress: number; slot?: string; error?: string | undefined; resumes?: number }): void {
    const res = this.db
      .prepare('UPDATE ota_jobs SET state = ?, progress = ?, slot = COALESCE(?, slot), error = ?, resumes = COALESCE(?, resumes), updated_ms = ? WHERE job_id = ?')
      .run(change.state, change.progress, change.slot ?? null, change.error ?? null, change.resumes ?? null, this.clock.now(), jobId);
    if (res.changes !== 1) throw new TonewallError('EOTA_STORE', `update job ${jobId} is not recorded`);
  }
}
