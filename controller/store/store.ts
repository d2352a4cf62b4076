/**
 * The appliance's one SQLite database (DESIGN.md §8) through better-sqlite3 (synchronous API).
 *
 * Open sequence (reliability-security.md §3, §5):
 *   mkdir -p dirname(path) → open → journal_mode=WAL → synchronous=FULL (a commit is on disk before
 *   it returns: the outbox's durability across power loss) → foreign_keys=ON → busy_timeout →
 *   secure_delete=ON (deleted rows are zeroed) → PRAGMA quick_check (a corrupt file fails the start
 *   with ESTORE_CORRUPT) → migrations.
 *
 * Transactions: `store.transaction(fn)` runs `fn` synchronously in one transaction (nested calls
 * become savepoints). Everything a state change writes — its row and the outbox event reporting it —
 * goes in one call, so both commit or neither does. A SIGKILL at any point leaves either.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type Clock, systemClock } from '../../hw/base/clock';
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { AuditLog } from './audit';
import { PaymentSessions } from './payment-sessions';
import { Calls } from './calls';
import { DeviceState } from './device-state';
import { FleetConfigStore } from './fleet-config';
import { migrate, schemaVersion } from './migrations';
import { Outbox } from './outbox';
import { OtaJobs } from './ota-jobs';

export interface StoreOpenOptions {
  /** Database file path; its directory is created when missing. */
  path: string;
  log: Logger;
  clock?: Clock;
  /** Unacknowledged outbox rows allowed before append refuses (config store.outboxMaxRows). */
  outboxMaxRows?: number;
  /** Fraction of outboxMaxRows at which `outbox.nearFull` turns true (default 0.8). */
  outboxNearFullRatio?: number;
  /** How long a writer waits for a lock held by another connection (default 5000 ms). */
  busyTimeoutMs?: number;
}

export const DEFAULT_OUTBOX_MAX_ROWS = 100_000;

export class Store {
  readonly outbox: Outbox;
  readonly calls: Calls;
  readonly deviceState: DeviceState;
  readonly audit: AuditLog;
  readonly payments: PaymentSessions;
  /** The fleet-pushed configuration (config/desired) as accepted. */
  readonly fleetConfig: FleetConfigStore;
  /** Update jobs (ota/job → ota/state). */
  readonly otaJobs: OtaJobs;
  readonly path: string;

  private constructor(
    private readonly db: Database.Database,
    path: string,
    clock: Clock,
    options: StoreOpenOptions,
    private readonly log: Logger,
  ) {
    this.path = path;
    this.outbox = new Outbox(db, clock, { maxRows: options.outboxMaxRows ?? DEFAULT_OUTBOX_MAX_ROWS, nearFullRatio: options.outboxNearFullRatio ?? 0.8 });
    this.calls = new Calls(db, clock);
    this.deviceState = new DeviceState(db, clock);
    this.audit = new AuditLog(db, clock);
    this.payments = new PaymentSessions(db);
    this.fleetConfig = new FleetConfigStore(db, clock);
    this.otaJobs = new OtaJobs(db, clock);
  }

  /**
   * Figures for diagnostics: schema version, outbox depth/bound/last seq, row counts, file size.
   * Never row contents.
   */
  stats(): { schemaVersion: number; outboxDepth: number; outboxMaxRows: number; outboxLastSeq: number; rows: Record<string, number>; pageCount: number; pageSize: number } {
    const rows: Record<string, number> = {};
    for (const t of this.tables()) rows[t] = (this.db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
    return {
      schemaVersion: schemaVersion(this.db),
      outboxDepth: this.outbox.depth(),
      outboxMaxRows: this.outbox.maxRows,
      outboxLastSeq: this.outbox.lastSeq(),
      rows,
      pageCount: Number(this.db.pragma('page_count', { simple: true })),
      pageSize: Number(this.db.pragma('page_size', { simple: true })),
    };
  }

  /** Opens (creating when needed) and migrates the database; see the file header for the sequence. */
  static open(options: StoreOpenOptions): Store {
    const log = options.log.child('store');
    const clock = options.clock ?? systemClock;
    const path = options.path;
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new TonewallError('ESTORE_DIR', `cannot create the directory of database ${path}: ${errorMessage(err)}`);
    }
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    } catch (err) {
      throw new TonewallError('ESTORE_OPEN', `cannot open database ${path}: ${errorMessage(err)}`);
    }
    try {
      applyPragmas(db, path, options.busyTimeoutMs ?? 5000);
      const before = schemaVersion(db);
      const applied = migrate(db, clock.now());
      log.info('database open', { path, schemaVersion: before + applied.length, migrationsApplied: applied });
      return new Store(db, path, clock, options, log);
    } catch (err) {
      db.close();
      const code = (err as { code?: unknown }).code;
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new TonewallError('ESTORE_CORRUPT', `database ${path} is not a readable SQLite database (${String(code)}): ${errorMessage(err)}`);
      }
      throw err;
    }
  }

  /** Runs `fn` in one transaction and returns its result; `fn` must be synchronous. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** The outbox bound (config store.outboxMaxRows). */
  get outboxMaxRows(): number {
    return this.outbox.maxRows;
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  /** `PRAGMA integrity_check` result: 'ok' or SQLite's first problem. For tests and diagnostics. */
  integrityCheck(): string {
    const r = this.db.pragma('integrity_check', { simple: true });
    return typeof r === 'string' ? r : String(r);
  }

  /** Column names of `table`: lets tests assert that no card-data column ever appears. */
  columns(table: string): string[] {
    if (!/^[a-z_]+$/.test(table)) throw new TonewallError('ESTORE_TABLE', `table name "${table}" is not [a-z_]+`);
    return (this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
  }

  /** Names of the user tables. */
  tables(): string[] {
    return (this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  }

  close(): void {
    if (!this.db.open) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.log.warn('checkpoint at close failed', { err: errorMessage(err) });
    }
    this.db.close();
    this.log.info('database closed', { path: this.path });
  }
}

function applyPragmas(db: Database.Database, path: string, busyTimeoutMs: number): void {
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new TonewallError('ESTORE_WAL', `database ${path} journal_mode is "${String(mode)}" after setting WAL; expected "wal"`);
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  db.pragma('secure_delete = ON');
  let check: unknown;
  try {
    check = db.pragma('quick_check', { simple: true });
  } catch (err) {
    throw new TonewallError('ESTORE_CORRUPT', `database ${path} failed PRAGMA quick_check: ${errorMessage(err)}`);
  }
  if (check !== 'ok') {
    throw new TonewallError('ESTORE_CORRUPT', `database ${path} failed PRAGMA quick_check: ${String(check)}; expected "ok"`);
  }
}
