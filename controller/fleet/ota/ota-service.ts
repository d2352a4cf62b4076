/**
 * Runs update jobs (`ota/job` → `ota/state`, docs/mqtt/ota.md) through the state machine of
 * states.ts: every transition is written to SQLite with its `events/ota` outbox record in one
 * transaction, then the retained `ota/state` is set. After the restart into the new slot the
 * service (running the new version) holds the health gate and commits or rolls back; when the boot
 * check (scripts/ota-boot-check.sh) switched back because the new version could not start, the old
 * version finds the record on its next start and reports `rolled_back`.
 */
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import type { Clock, TimerHandle } from '../../../hw/base/clock';
import { TonewallError, errorMessage } from '../../../hw/base/errors';
import type { Logger } from '../../../hw/base/logger';
import type { OtaJobRecord, OtaJobs } from '../../store/ota-jobs';
import type { JsonObject } from '../../store/json';
import type { OtaState, OtaStateBody } from '../payload-schemas';
import { installPayload, verifyBundle } from './bundle';
import { type Downloader, httpsDownload } from './download';
import { type OtaJob, decodeOtaJob, jobSignatureProblem, otaJobSchema } from './job';
import type { PendingCommit, SlotStore } from './slot-store';
import { assertTransition, isCancelable, isTerminal } from './states';

/** What the health gate asks the running appliance. */
export interface OtaHealth {
  ok: boolean;
  /** Why not, when not ok (e.g. "MQTT not connected; card link down"). */
  why?: string;
}

export interface OtaServiceOptions {
  enabled: boolean;
  slots: SlotStore;
  jobs: Pick<OtaJobs, 'get' | 'latest' | 'insert' | 'update'>;
  /** Runs `fn` in one database transaction (the store's). */
  transaction: <T>(fn: () => T) => T;
  /** Appends the `events/ota` outbox record (inside the transaction). */
  appendEvent: (type: string, data: JsonObject) => void;
  publishState: (body: OtaStateBody) => void;
  fleetKey: KeyObject | undefined;
  runningVersion: string;
  maxBundleBytes: number;
  maxResumes?: number;
  /** Drain control: new calls refused while on; undefined: no call side (drain is a no-op). */
  drain?: { set(on: boolean): void; activeCalls(): number };
  health: () => OtaHealth;
  /** Stops the process for the service manager to start it again (service-control.ts). */
  restart: (reason: string) => void;
  download?: Downloader;
  caPem?: string;
  factoryDir?: string;
  pollMs: number;
  downloadIdleTimeoutMs: number;
  clock: Clock;
  log: Logger;
}

interface Run {
  jobId: string;
  abort: AbortController;
}

class Canceled extends Error {}

export class OtaService {
  private readonly log: Logger;
  private run: Run | undefined;
  private gateTimer: TimerHandle | undefined;
  private lastRejected: string | undefined;
  private stopped = false;

  constructor(private readonly o: OtaServiceOptions) {
    this.log = o.log.child('ota');
  }

  /** Resumes or ends what a previous run left (pending commit, interrupted job) and republishes the state. */
  start(): void {
    let pending: PendingCommit | undefined;
    try {
      pending = this.o.slots.pending();
    } catch (err) {
      this.log.error('pending-commit record unreadable; discarded', { err: errorMessage(err) });
      this.o.slots.clearPending();
    }
    if (pending) {
      this.resumePending(pending);
      return;
    }
    const latest = this.o.jobs.latest();
    if (!latest) return;
    this.publish(latest);
    if (isTerminal(latest.state as OtaState)) return;
    const state = latest.state as OtaState;
    if (state === 'health_gate') {
      // The commit removes the pending record before the row says succeeded: it was committed.
      this.transition(latest, 'succeeded', { progress: 100 });
    } else if (state === 'installing' || state === 'rebooting') {
      this.transition(latest, 'failed', { progress: 100, error: `interrupted by a restart while ${state}; the running slot was not switched` });
    } else {
      const resumes = latest.resumes + 1;
      if (resumes > (this.o.maxResumes ?? 3)) {
        this.transition(latest, 'failed', { progress: 100, error: `interrupted by ${latest.resumes} restarts; not resumed again` });
        return;
      }
      const job = this.jobOf(latest);
      const again = state === 'queued' ? latest : this.transition(latest, 'queued', { progress: 0, resumes });
      this.log.info('resuming an interrupted update job', { jobId: latest.jobId, from: state, resumes });
      this.execute(again, job);
    }
  }

  stop(): void {
    this.stopped = true;
    this.run?.abort.abort();
    if (this.gateTimer) this.gateTimer.cancel();
    this.gateTimer = undefined;
  }

  /** The job currently running (downloading … rebooting, or the health gate). */
  get activeJobId(): string | undefined {
    return this.run?.jobId;
  }

  /** An `ota/job` payload from the broker (retained: delivered again on every connect). */
  onJobPayload(payload: Buffer): void {
    let decoded;
    try {
      decoded = decodeOtaJob(payload);
    } catch (err) {
      this.rejectUnrecorded(payload, errorMessage(err));
      return;
    }
    if (decoded.kind === 'cancel') {
      this.cancelActive('the job was withdrawn (empty ota/job)');
      return;
    }
    const { job, canonical } = decoded;
    const known = this.o.jobs.get(job.jobId);
    if (known) {
      this.log.debug('update job already known', { jobId: job.jobId, state: known.state });
      return;
    }
    const base = { jobId: job.jobId, from: this.o.runningVersion, to: job.version, slot: '', job: JSON.stringify(job), canonical };
    const refuse = (error: string): void => {
      this.o.transaction(() => {
        this.o.jobs.insert({ ...base, state: 'rejected', progress: 100, error });
        this.o.appendEvent('ota.rejected', { jobId: job.jobId, state: 'rejected', from: base.from, to: base.to, error });
      });
      this.log.warn('update job rejected', { jobId: job.jobId, error });
      this.publishRecord(job.jobId);
    };
    if (!this.o.enabled) return refuse('updates are disabled on this device (ota.enabled false)');
    const sigProblem = jobSignatureProblem(job, canonical, this.o.fleetKey);
    if (sigProblem) return refuse(sigProblem);
    if (job.artifact.size > this.o.maxBundleBytes) return refuse(`artifact size ${job.artifact.size} bytes is above ota.maxBundleBytes (${this.o.maxBundleBytes})`);
    const active = this.run ? this.o.jobs.get(this.run.jobId) : undefined;
    if (active && !isTerminal(active.state as OtaState)) {
      if (!isCancelable(active.state as OtaState)) return refuse(`job ${active.jobId} is ${active.state}; a new job is taken after it ends`);
      this.cancelActive(`superseded by job ${job.jobId}`);
    }
    if (job.version === this.o.runningVersion) {
      this.o.transaction(() => {
        this.o.jobs.insert({ ...base, state: 'succeeded', progress: 100 });
        this.o.appendEvent('ota.succeeded', { jobId: job.jobId, state: 'succeeded', from: base.from, to: base.to, alreadyRunning: true });
      });
      this.log.info('update job asks for the running version; nothing to do', { jobId: job.jobId, version: job.version });
      this.publishRecord(job.jobId);
      return;
    }
    this.o.transaction(() => {
      this.o.jobs.insert({ ...base, state: 'queued', progress: 0 });
      this.o.appendEvent('ota.queued', { jobId: job.jobId, state: 'queued', from: base.from, to: base.to, ...(job.actor ? { actor: job.actor } : {}) });
    });
    const rec = this.record(job.jobId);
    this.publish(rec);
    this.log.info('update job queued', { jobId: job.jobId, version: job.version, actor: job.actor });
    this.execute(rec, job);
  }

  private execute(rec: OtaJobRecord, job: OtaJob): void {
    const run: Run = { jobId: rec.jobId, abort: new AbortController() };
    this.run = run;
    this.steps(rec, job, run)
      .catch((err: unknown) => {
        const cur = this.o.jobs.get(rec.jobId);
        if (!cur || isTerminal(cur.state as OtaState)) return;
        // Canceled, superseded or stopped (the process is going down): the record says what happened.
        if (err instanceof Canceled || run.abort.signal.aborted || this.stopped) return;
        this.transition(cur, 'failed', { progress: 100, error: errorMessage(err) });
      })
      .finally(() => {
        if (this.run === run) this.run = undefined;
        rmSync(this.workDir(rec.jobId), { recursive: true, force: true });
        rmSync(this.downloadFile(rec.jobId), { force: true });
      });
  }

  private async steps(first: OtaJobRecord, job: OtaJob, run: Run): Promise<void> {
    let rec = first;
    const check = (): void => {
      if (run.abort.signal.aborted || this.stopped) throw new Canceled();
    };
    const now = this.o.clock.now();
    const notAfter = job.window?.notAfter ? Date.parse(job.window.notAfter) : undefined;
    const notBefore = job.window?.notBefore ? Date.parse(job.window.notBefore) : undefined;
    if (notAfter !== undefined && now >= notAfter) throw new TonewallError('EOTA_WINDOW', `the job's window closed at ${job.window?.notAfter ?? ''}`);
    if (notBefore !== undefined && now < notBefore) {
      rec = this.transition(rec, 'waiting_window', { progress: 0 });
      await this.sleep(notBefore - now, run);
      check();
    }
    rec = this.transition(rec, 'downloading', { progress: 0 });
    const file = this.downloadFile(rec.jobId);
    let lastPublished = 0;
    const got = await (this.o.download ?? httpsDownload)({
      url: job.artifact.url,
      file,
      size: job.artifact.size,
      ca: this.o.caPem,
      idleTimeoutMs: this.o.downloadIdleTimeoutMs,
      signal: run.abort.signal,
      onProgress: (pct) => {
        if (pct - lastPublished < 10 && pct !== 100) return;
        lastPublished = pct;
        this.o.jobs.update(rec.jobId, { state: 'downloading', progress: pct });
        this.publishRecord(rec.jobId);
      },
    });
    check();
    if (got.sha256 !== job.artifact.sha256) throw new TonewallError('EOTA_VERIFY', `artifact sha256 is ${got.sha256}; the job says ${job.artifact.sha256}`);
    rec = this.transition(this.record(rec.jobId), 'verifying', { progress: 0 });
    if (!this.o.fleetKey) throw new TonewallError('EOTA_VERIFY', 'no fleet key to verify the bundle manifest');
    const verified = await verifyBundle(file, job.version, this.o.fleetKey, this.workDir(rec.jobId));
    check();
    if (job.policy.requireDrain && this.o.drain) {
      rec = this.transition(rec, 'draining', { progress: 0 });
      await this.drainCalls(job.policy.drainTimeoutSec, run);
    }
    const slot = this.o.slots.inactiveSlot();
    rec = this.transition(rec, 'installing', { progress: 0, slot });
    try {
      const dir = this.o.slots.prepare(slot);
      await installPayload(verified.payloadPath, dir, { version: job.version, jobId: rec.jobId, ...(this.o.factoryDir ? { factoryDir: this.o.factoryDir } : {}) });
    } catch (err) {
      this.o.drain?.set(false);
      throw err;
    }
    if (this.stopped) throw new Canceled();
    const from = this.o.slots.activeSlot();
    try {
      this.o.slots.setPending({ job: rec.jobId, fromSlot: from, toSlot: slot, fromVersion: this.o.runningVersion, toVersion: job.version, attempts: 0 });
      this.o.slots.switchTo(slot);
    } catch (err) {
      this.o.slots.clearPending();
      this.o.drain?.set(false);
      throw new TonewallError('EOTA_SLOT', `switching to slot ${slot} failed: ${errorMessage(err)}`);
    }
    this.transition(rec, 'rebooting', { progress: 100 });
    this.log.warn('update installed; restarting into the new slot', { jobId: rec.jobId, slot, version: job.version });
    this.o.restart(`update ${rec.jobId} to ${job.version} (slot ${slot})`);
  }

  private async drainCalls(timeoutSec: number, run: Run): Promise<void> {
    const drain = this.o.drain;
    if (!drain) return;
    drain.set(true);
    const deadline = this.o.clock.monotonicMs() + timeoutSec * 1000;
    try {
      while (drain.activeCalls() > 0) {
        if (this.o.clock.monotonicMs() >= deadline) {
          throw new TonewallError('EOTA_DRAIN', `drain timed out after ${timeoutSec} s with ${drain.activeCalls()} call(s) still active; nothing was installed`);
        }
        await this.sleep(this.o.pollMs, run);
      }
    } catch (err) {
      drain.set(false);
      throw err;
    }
  }

  /** After the restart: the new slot is on probation, or the boot check already switched back. */
  private resumePending(p: PendingCommit): void {
    const rec = this.o.jobs.get(p.job);
    if (!rec) {
      this.log.warn('pending commit for an unknown job discarded', { jobId: p.job });
      this.o.slots.clearPending();
      return;
    }
    const active = this.o.slots.activeSlot();
    if (p.result !== undefined || active !== p.toSlot) {
      const error =
        p.result === 'crash-loop'
          ? `version ${p.toVersion} did not start ${p.attempts} times; the boot check switched back to slot ${p.fromSlot}`
          : `slot ${p.toSlot} was not active after the restart (active: ${active}); back on ${p.fromSlot}`;
      if (active === p.toSlot) this.o.slots.switchTo(p.fromSlot);
      this.o.slots.clearPending();
      if (!isTerminal(rec.state as OtaState)) this.transition(rec, 'rolled_back', { progress: 100, error });
      else this.publish(rec);
      this.log.error('update rolled back', { jobId: p.job, error });
      return;
    }
    const gateRec = rec.state === 'rebooting' ? this.transition(rec, 'health_gate', { progress: 0 }) : rec;
    if (gateRec.state !== 'health_gate') {
      this.log.warn('pending commit for a job not on probation; committing nothing, switching back', { jobId: p.job, state: rec.state });
      this.o.slots.switchTo(p.fromSlot);
      this.o.slots.clearPending();
      return;
    }
    this.holdGate(gateRec, p);
  }

  private holdGate(rec: OtaJobRecord, p: PendingCommit): void {
    const job = this.jobOf(rec);
    const gateMs = job.policy.healthGateSec * 1000;
    const timeoutMs = (job.policy.healthGateTimeoutSec ?? job.policy.healthGateSec * 2 + 60) * 1000;
    const started = this.o.clock.monotonicMs();
    let okSince: number | undefined;
    let lastWhy = 'not checked yet';
    let lastPct = 0;
    this.run = { jobId: rec.jobId, abort: new AbortController() };
    this.log.info('new version on probation: health gate', { jobId: rec.jobId, gateSec: job.policy.healthGateSec, timeoutSec: timeoutMs / 1000 });
    const tick = (): void => {
      this.gateTimer = undefined;
      if (this.stopped) return;
      const now = this.o.clock.monotonicMs();
      const h = this.o.health();
      if (h.ok) okSince ??= now;
      else {
        okSince = undefined;
        lastWhy = h.why ?? 'unhealthy';
      }
      const healthyMs = okSince === undefined ? 0 : now - okSince;
      if (healthyMs >= gateMs) {
        this.o.slots.clearPending();
        this.run = undefined;
        this.transition(this.record(rec.jobId), 'succeeded', { progress: 100 });
        this.log.info('update committed', { jobId: rec.jobId, version: p.toVersion, slot: p.toSlot });
        return;
      }
      if (now - started >= timeoutMs) {
        this.run = undefined;
        const error = `not healthy for ${job.policy.healthGateSec} s within ${Math.round(timeoutMs / 1000)} s: ${lastWhy}`;
        try {
          this.o.slots.switchTo(p.fromSlot);
        } finally {
          this.o.slots.clearPending();
        }
        this.transition(this.record(rec.jobId), 'rolled_back', { progress: 100, error });
        this.log.error('update failed its health gate; rolling back', { jobId: rec.jobId, error });
        this.o.restart(`update ${rec.jobId} rolled back to slot ${p.fromSlot}`);
        return;
      }
      const pct = Math.min(99, Math.floor((healthyMs * 100) / gateMs));
      if (pct - lastPct >= 10) {
        lastPct = pct;
        this.o.jobs.update(rec.jobId, { state: 'health_gate', progress: pct });
        this.publishRecord(rec.jobId);
      }
      this.gateTimer = this.o.clock.setTimeout(tick, this.o.pollMs);
    };
    tick();
  }

  private cancelActive(reason: string): void {
    const run = this.run;
    const rec = run ? this.o.jobs.get(run.jobId) : undefined;
    if (!run || !rec || isTerminal(rec.state as OtaState)) return;
    if (!isCancelable(rec.state as OtaState)) {
      this.log.warn('update job can no longer be canceled', { jobId: rec.jobId, state: rec.state, reason });
      return;
    }
    run.abort.abort();
    if (rec.state === 'draining') this.o.drain?.set(false);
    this.transition(rec, 'canceled', { progress: 100, error: reason });
    this.log.info('update job canceled', { jobId: rec.jobId, reason });
  }

  /** A payload that is not a job at all: `ota/state` + event under the id it names (or "invalid"), once per payload. */
  private rejectUnrecorded(payload: Buffer, error: string): void {
    const key = payload.toString('base64').slice(0, 4096);
    if (this.lastRejected === key) return;
    this.lastRejected = key;
    let jobId = 'invalid';
    try {
      const j = JSON.parse(payload.toString('utf8')) as { jobId?: unknown };
      const parsed = otaJobSchema.shape.jobId.safeParse(j.jobId);
      if (parsed.success) jobId = parsed.data;
    } catch {
      /* not JSON: no id */
    }
    if (this.o.jobs.get(jobId)) jobId = 'invalid';
    this.log.warn('ota/job refused', { jobId, error });
    this.o.transaction(() => this.o.appendEvent('ota.rejected', { jobId, state: 'rejected', error }));
    this.o.publishState({ jobId, state: 'rejected', progress: 100, from: this.o.runningVersion, to: '', slot: '', error: error.slice(0, 400) });
  }

  private transition(rec: OtaJobRecord, to: OtaState, change: { progress: number; slot?: string; error?: string; resumes?: number }): OtaJobRecord {
    assertTransition(rec.state as OtaState, to);
    this.o.transaction(() => {
      this.o.jobs.update(rec.jobId, { state: to, ...change });
      const slot = change.slot ?? rec.slot;
      this.o.appendEvent(`ota.${to}`, { jobId: rec.jobId, state: to, from: rec.from, to: rec.to, ...(slot ? { slot } : {}), ...(change.error ? { error: change.error.slice(0, 400) } : {}) });
    });
    const next = this.record(rec.jobId);
    this.publish(next);
    return next;
  }

  private record(jobId: string): OtaJobRecord {
    const r = this.o.jobs.get(jobId);
    if (!r) throw new TonewallError('EOTA_STORE', `update job ${jobId} is not recorded`);
    return r;
  }

  private publishRecord(jobId: string): void {
    this.publish(this.record(jobId));
  }

  private publish(r: OtaJobRecord): void {
    this.o.publishState({ jobId: r.jobId, state: r.state as OtaState, progress: r.progress, from: r.from.slice(0, 64), to: r.to.slice(0, 64), slot: r.slot, ...(r.error ? { error: r.error.slice(0, 400) } : {}) });
  }

  private jobOf(r: OtaJobRecord): OtaJob {
    return otaJobSchema.parse(JSON.parse(r.job));
  }

  private sleep(ms: number, run: Run): Promise<void> {
    return new Promise((resolve, reject) => {
      if (run.abort.signal.aborted) {
        reject(new Canceled());
        return;
      }
      const t = this.o.clock.setTimeout(() => {
        run.abort.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        t.cancel();
        reject(new Canceled());
      };
      run.abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private downloadFile(jobId: string): string {
    return join(this.o.slots.downloadDir(), `${jobId}.bundle`);
  }

  private workDir(jobId: string): string {
    return join(this.o.slots.downloadDir(), `${jobId}.d`);
  }
}
