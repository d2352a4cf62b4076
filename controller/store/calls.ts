/**
 * Call detail records (DESIGN.md §8). One row per call, inserted at setup and updated as the call
 * moves on; `ended_ms` NULL means the call is open. No card data: payments appear only as a count.
 * Caller and called numbers are stored as given (a later policy may hash them).
 */
import type Database from 'better-sqlite3';
import type { Clock } from '../../hw/base/clock';
import { TonewallError } from '../../hw/base/errors';

export type CallDirection = 'in' | 'out';

export interface CallRecord {
  callId: string;
  direction: CallDirection;
  port: number | null;
  span: number | null;
  channel: number | null;
  callerNumber: string | null;
  calledNumber: string | null;
  sipCallId: string | null;
  state: string;
  startedMs: number;
  answeredMs: number | null;
  endedMs: number | null;
  endCause: string | null;
  /** Who ended it: e.g. 'pstn', 'sip', 'local', 'startup-recovery'. */
  endBy: string | null;
  q850: number | null;
  sipStatus: number | null;
  paymentCount: number;
}

/** What `insert` needs; everything else defaults to null / 0. */
export type CallInsert = Pick<CallRecord, 'callId' | 'direction' | 'state' | 'startedMs'> & Partial<Omit<CallRecord, 'callId'>>;
/** Fields `update` may change (not the id). */
export type CallPatch = Partial<Omit<CallRecord, 'callId'>>;

const COLUMNS: Record<keyof CallRecord, string> = {
  callId: 'call_id',
  direction: 'direction',
  port: 'port',
  span: 'span',
  channel: 'channel',
  callerNumber: 'caller_number',
  calledNumber: 'called_number',
  sipCallId: 'sip_call_id',
  state: 'state',
  startedMs: 'started_ms',
  answeredMs: 'answered_ms',
  endedMs: 'ended_ms',
  endCause: 'end_cause',
  endBy: 'end_by',
  q850: 'q850',
  sipStatus: 'sip_status',
  paymentCount: 'payment_count',
};
const KEYS = Object.keys(COLUMNS) as (keyof CallRecord)[];

type CallRow = Record<string, string | number | null>;

function fromRow(row: CallRow): CallRecord {
  const out: Record<string, unknown> = {};
  for (const k of KEYS) out[k] = row[COLUMNS[k]] ?? null;
  return out as unknown as CallRecord;
}

export class Calls {
  private readonly insertStmt: Database.Statement<[Record<string, unknown>]>;
  private readonly getStmt: Database.Statement<[string]>;
  private readonly openStmt: Database.Statement<[]>;
  private readonly updateStmts = new Map<string, Database.Statement<[Record<string, unknown>]>>();

  constructor(
    private readonly db: Database.Database,
    private readonly clock: Clock,
  ) {
    const cols = KEYS.map((k) => COLUMNS[k]);
    this.insertStmt = db.prepare(`INSERT INTO calls (${cols.join(', ')}) VALUES (${KEYS.map((k) => '@' + k).join(', ')})`);
    this.getStmt = db.prepare('SELECT * FROM calls WHERE call_id = ?');
    this.openStmt = db.prepare('SELECT * FROM calls WHERE ended_ms IS NULL ORDER BY started_ms, call_id');
  }

  insert(rec: CallInsert): CallRecord {
    const full: CallRecord = {
      port: null, span: null, channel: null, callerNumber: null, calledNumber: null, sipCallId: null,
      answeredMs: null, endedMs: null, endCause: null, endBy: null, q850: null, sipStatus: null, paymentCount: 0,
      ...rec,
    };
    try {
      this.insertStmt.run(full as unknown as Record<string, unknown>);
    } catch (err) {
      if (err instanceof Error && /UNIQUE|PRIMARY KEY/.test(err.message)) {
        throw new TonewallError('ESTORE_CALL_EXISTS', `call ${rec.callId} is already recorded`);
      }
      throw err;
    }
    return full;
  }

  /** Applies `patch` to the call; throws ESTORE_CALL_UNKNOWN when there is no such call. */
  update(callId: string, patch: CallPatch): CallRecord {
    const keys = (Object.keys(patch) as (keyof CallPatch)[]).filter((k) => patch[k] !== undefined && k in COLUMNS);
    if (keys.length > 0) {
      const sig = keys.join(',');
      let stmt = this.updateStmts.get(sig);
      if (!stmt) {
        stmt = this.db.prepare(`UPDATE calls SET ${keys.map((k) => `${COLUMNS[k]} = @${k}`).join(', ')} WHERE call_id = @callId`);
        this.updateStmts.set(sig, stmt);
      }
      const params: Record<string, unknown> = { callId };
      for (const k of keys) params[k] = patch[k];
      if (stmt.run(params).changes !== 1) throw unknownCall(callId);
    }
    const rec = this.get(callId);
    if (!rec) throw unknownCall(callId);
    return rec;
  }

  get(callId: string): CallRecord | undefined {
    const row = this.getStmt.get(callId) as CallRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Calls with no end time, oldest first. */
  open(): CallRecord[] {
    return (this.openStmt.all() as CallRow[]).map(fromRow);
  }

  /**
   * At start-up: closes every call a crash left open (state 'ended', end cause `cause`, end_by
   * 'startup-recovery', ended now) and returns them as closed, so they can be reported.
   * Run it inside a transaction together with the outbox events that report them.
   */
  closeOpen(cause: string): CallRecord[] {
    const now = this.clock.now();
    return this.open().map((c) => this.update(c.callId, { state: 'ended', endedMs: now, endCause: cause, endBy: 'startup-recovery' }));
  }
}

function unknownCall(callId: string): TonewallError {
  return new TonewallError('ESTORE_CALL_UNKNOWN', `call ${callId} is not recorded`);
}
