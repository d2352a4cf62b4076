/**
 * Schema migrations (DESIGN.md §8): numbered, in code, applied in order, each in its own
 * transaction together with its `schema_version` row, so a crash mid-migration leaves the previous
 * version intact and the next start simply runs it again. Opening an up-to-date database applies
 * nothing. A database newer than this code is refused (no silent downgrade).
 *
 * Rule for every table, now and later: no column for card data (PAN, expiry, security code, digits);
 * test/integration/store checks the column names.
 */
import type Database from 'better-sqlite3';
import { TonewallError } from '../../hw/base/errors';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'outbox, calls, device_state, audit',
    sql: `
      CREATE TABLE outbox (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         TEXT    NOT NULL UNIQUE,
        topic      TEXT    NOT NULL,
        type       TEXT    NOT NULL,
        payload    TEXT    NOT NULL,
        created_ms INTEGER NOT NULL,
        acked_ms   INTEGER
      );
      CREATE INDEX outbox_pending ON outbox(seq) WHERE acked_ms IS NULL;
      CREATE INDEX outbox_acked ON outbox(acked_ms) WHERE acked_ms IS NOT NULL;

      CREATE TABLE calls (
        call_id       TEXT    PRIMARY KEY,
        direction     TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
        port          INTEGER,
        span          INTEGER,
        channel       INTEGER,
        caller_number TEXT,
        called_number TEXT,
        sip_call_id   TEXT,
        state         TEXT    NOT NULL,
        started_ms    INTEGER NOT NULL,
        answered_ms   INTEGER,
        ended_ms      INTEGER,
        end_cause     TEXT,
        end_by        TEXT,
        q850          INTEGER,
        sip_status    INTEGER,
        payment_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX calls_open ON calls(started_ms) WHERE ended_ms IS NULL;

      CREATE TABLE device_state (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_ms INTEGER NOT NULL
      );

      CREATE TABLE audit (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        ts     INTEGER NOT NULL,
        source TEXT    NOT NULL,
        action TEXT    NOT NULL,
        actor  TEXT,
        result TEXT    NOT NULL,
        detail TEXT
      );
    `,
  },
  {
    version: 2,
    name: 'payment_sessions',
    sql: `
      CREATE TABLE payment_sessions (
        session_id            TEXT    PRIMARY KEY,
        request_id            TEXT    NOT NULL,
        call_id               TEXT    NOT NULL,
        started_ms            INTEGER NOT NULL,
        ended_ms              INTEGER,
        outcome               TEXT    NOT NULL,
        reason                TEXT,
        processor_reference   TEXT,
        brand                 TEXT,
        last4                 TEXT CHECK (last4 IS NULL OR length(last4) = 4),
        fields                TEXT    NOT NULL,
        entry_counts          TEXT    NOT NULL,
        discarded_keys        INTEGER NOT NULL,
        masked_tones          INTEGER NOT NULL,
        masking_faulted       INTEGER NOT NULL,
        second_check_detector TEXT    NOT NULL,
        second_check_samples  INTEGER NOT NULL,
        second_check_hits     INTEGER NOT NULL,
        masking_clean         INTEGER NOT NULL
      );
      CREATE INDEX payment_sessions_call ON payment_sessions(call_id);
    `,
  },
  {
    version: 3,
    name: 'fleet_config',
    sql: `
      CREATE TABLE fleet_config (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        version    INTEGER NOT NULL,
        overlay    TEXT    NOT NULL,
        reported   TEXT    NOT NULL,
        updated_ms INTEGER NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'ota_jobs',
    sql: `
      CREATE TABLE ota_jobs (
        job_id       TEXT    PRIMARY KEY,
        state        TEXT    NOT NULL,
        progress     INTEGER NOT NULL,
        version_from TEXT    NOT NULL,
        version_to   TEXT    NOT NULL,
        slot         TEXT    NOT NULL,
        error        TEXT,
        job          TEXT    NOT NULL,
        canonical    TEXT    NOT NULL,
        resumes      INTEGER NOT NULL DEFAULT 0,
        created_ms   INTEGER NOT NULL,
        updated_ms   INTEGER NOT NULL
      );
      CREATE INDEX ota_jobs_updated ON ota_jobs(updated_ms);
    `,
  },
];

/** The version the code expects after `migrate`. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

/** Current schema version of `db` (0 for an empty database). */
export function schemaVersion(db: Database.Database): number {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (!exists) return 0;
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Brings `db` to LATEST_SCHEMA_VERSION. Returns the versions applied (empty when already current).
 * `migrations` is injectable for tests; it must be sorted by version without gaps.
 */
export function migrate(db: Database.Database, nowMs: number, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)');
  const latest = migrations.reduce((v, m) => Math.max(v, m.version), 0);
  const current = schemaVersion(db);
  if (current > latest) {
    throw new TonewallError('ESTORE_SCHEMA_NEWER', `database schema version ${current} is newer than this software supports (${latest}); refusing to open it`);
  }
  const applied: number[] = [];
  const record = db.prepare<[number, string, number]>('INSERT INTO schema_version (version, name, applied_ms) VALUES (?, ?, ?)');
  for (const m of migrations) {
    if (m.version <= current) continue;
    const expected = (applied[applied.length - 1] ?? current) + 1;
    if (m.version !== expected) {
      throw new TonewallError('ESTORE_MIGRATION_GAP', `migration ${m.version} follows version ${expected - 1}; expected ${expected}`);
    }
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, nowMs);
    })();
    applied.push(m.version);
  }
  return applied;
}
