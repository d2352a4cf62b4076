/**
 * The transactional outbox (DESIGN.md §2 "Reporting", §7 "Durable reporting"): an event is appended
 * in the same SQLite transaction as the state change it reports, and leaves the box only through
 * the fleet reporter, which marks it acknowledged on the broker's PUBACK.
 *
 * Contract:
 * - `append` assigns `seq` (strictly increasing, never reused: AUTOINCREMENT) and `id` (UUIDv7, the
 *   consumers' dedupe key). Called inside `store.transaction(fn)` it commits or rolls back with the
 *   caller's state. It refuses card-like data (sensitive-scan.ts) and refuses when `depth()` has
 *   reached `maxRows` (error code EOUTBOX_FULL); `nearFull` turns true at `nearFullRatio` of it so
 *   an alarm can be raised before events are refused.
 * - `pending(limit, afterSeq)` returns unacknowledged events in seq order.
 * - `ack(seq)` / `ackMany(seqs)` mark events acknowledged (ackMany: one transaction for a burst).
 * - Acked rows are kept for `prune(olderThanMs)` to delete (replay on request, diagnostics).
 */
import type Database from 'better-sqlite3';
import type { Clock } from '../../hw/base/clock';
import { TonewallError } from '../../hw/base/errors';
import type { JsonObject } from './json';
import { describeFinding, findSensitive } from './sensitive-scan';
import { uuidv7 } from './uuidv7';

export interface OutboxEvent {
  seq: number;
  /** UUIDv7, unique: the dedupe key. */
  id: string;
  /** Relative to the device's topic root, e.g. `events/call`. */
  topic: string;
  /** Event type, e.g. `call.ended`; defaults to the topic's last level. */
  type: string;
  /** The event data as given to append (parsed back from JSON). */
  data: JsonObject;
  createdMs: number;
  ackedMs: number | null;
}

interface OutboxRow {
  seq: number;
  id: string;
  topic: string;
  type: string;
  payload: string;
  created_ms: number;
  acked_ms: number | null;
}

const TOPIC_LEVEL = /^[a-z0-9_.-]+$/;
const TYPE_RE = /^[a-z0-9_.-]{1,64}$/;

/** Checks a relative topic: levels of [a-z0-9_.-], no wildcards, no empty level, no leading slash. */
export function checkRelativeTopic(topic: string): void {
  const levels = topic.split('/');
  if (topic.length > 200 || levels.some((l) => !TOPIC_LEVEL.test(l))) {
    throw new TonewallError('EOUTBOX_TOPIC', `outbox topic "${topic.slice(0, 200)}" is not a relative topic of levels [a-z0-9_.-] (e.g. "events/call")`);
  }
}

export interface OutboxOptions {
  maxRows: number;
  /** Fraction of maxRows at which `nearFull` turns true (default 0.8). */
  nearFullRatio?: number;
}

export class Outbox {
  readonly maxRows: number;
  private readonly nearFullRows: number;
  private readonly insert: Database.Statement<[string, string, string, string, number]>;
  private readonly selectPending: Database.Statement<[number, number]>;
  private readonly ackStmt: Database.Statement<[number, number]>;
  private readonly depthStmt: Database.Statement<[]>;
  private readonly lastSeqStmt: Database.Statement<[]>;
  private readonly getBySeq: Database.Statement<[number]>;
  private readonly pruneStmt: Database.Statement<[number]>;

  constructor(
    private readonly db: Database.Database,
    private readonly clock: Clock,
    options: OutboxOptions,
  ) {
    if (!Number.isInteger(options.maxRows) || options.maxRows < 1) {
      throw new TonewallError('EOUTBOX_CONFIG', `outbox maxRows ${options.maxRows} is not a positive integer`);
    }
    this.maxRows = options.maxRows;
    this.nearFullRows = Math.max(1, Math.floor(options.maxRows * (options.nearFullRatio ?? 0.8)));
    this.insert = db.prepare('INSERT INTO outbox (id, topic, type, payload, created_ms) VALUES (?, ?, ?, ?, ?)');
    this.selectPending = db.prepare('SELECT * FROM outbox WHERE acked_ms IS NULL AND seq > ? ORDER BY seq LIMIT ?');
    this.ackStmt = db.prepare('UPDATE outbox SET acked_ms = ? WHERE seq = ? AND acked_ms IS NULL');
    this.depthStmt = db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE acked_ms IS NULL');
    this.lastSeqStmt = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'");
    this.getBySeq = db.prepare('SELECT * FROM outbox WHERE seq = ?');
    this.pruneStmt = db.prepare('DELETE FROM outbox WHERE acked_ms IS NOT NULL AND acked_ms < ?');
  }

  /** Appends an event; see the file contract. Runs in the caller's transaction when there is one. */
  append(topic: string, data: JsonObject, type?: string): OutboxEvent {
    checkRelativeTopic(topic);
    const eventType = type ?? topic.slice(topic.lastIndexOf('/') + 1);
    if (!TYPE_RE.test(eventType)) {
      throw new TonewallError('EOUTBOX_TYPE', `event type "${eventType.slice(0, 64)}" is not 1-64 characters of [a-z0-9_.-]`);
    }
    const finding = findSensitive(data, 'data');
    if (finding) {
      throw new TonewallError('EOUTBOX_SENSITIVE', `outbox event for ${topic} refused: ${describeFinding(finding)}`);
    }
    const depth = this.depth();
    if (depth >= this.maxRows) {
      throw new TonewallError('EOUTBOX_FULL', `outbox holds ${depth} unacknowledged events, the limit is ${this.maxRows}; event for ${topic} refused`);
    }
    const createdMs = this.clock.now();
    const id = uuidv7(createdMs);
    const payload = JSON.stringify(data);
    const r = this.insert.run(id, topic, eventType, payload, createdMs);
    return { seq: Number(r.lastInsertRowid), id, topic, type: eventType, data: JSON.parse(payload) as JsonObject, createdMs, ackedMs: null };
  }

  /** Up to `limit` unacknowledged events with seq > afterSeq, in seq order. */
  pending(limit: number, afterSeq = 0): OutboxEvent[] {
    return (this.selectPending.all(afterSeq, limit) as OutboxRow[]).map(fromRow);
  }

  /** Marks an event acknowledged. Returns false when it does not exist or was already acked. */
  ack(seq: number): boolean {
    return this.ackStmt.run(this.clock.now(), seq).changes === 1;
  }

  /**
   * Marks every event in `seqs` acknowledged in ONE transaction (one fsync under synchronous=FULL
   * instead of one per event). Returns how many changed (already-acked or unknown seqs are skipped).
   */
  ackMany(seqs: readonly number[]): number {
    if (seqs.length === 0) return 0;
    const nowMs = this.clock.now();
    return this.db.transaction(() => seqs.reduce((n, seq) => n + this.ackStmt.run(nowMs, seq).changes, 0))();
  }

  get(seq: number): OutboxEvent | undefined {
    const row = this.getBySeq.get(seq) as OutboxRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Number of unacknowledged events. */
  depth(): number {
    return (this.depthStmt.get() as { n: number }).n;
  }

  /** True when depth() is at or above the near-full threshold: raise an alarm. */
  get nearFull(): boolean {
    return this.depth() >= this.nearFullRows;
  }

  /** The highest seq ever assigned (0 when none): events at or below it exist or existed. */
  lastSeq(): number {
    const row = this.lastSeqStmt.get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  /** Deletes acknowledged events acked more than `olderThanMs` ago. Returns how many. */
  prune(olderThanMs: number): number {
    return this.pruneStmt.run(this.clock.now() - olderThanMs).changes;
  }
}

function fromRow(r: OutboxRow): OutboxEvent {
  return { seq: r.seq, id: r.id, topic: r.topic, type: r.type, data: JSON.parse(r.payload) as JsonObject, createdMs: r.created_ms, ackedMs: r.acked_ms };
}
