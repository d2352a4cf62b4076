/**
 * The configuration the fleet pushed (`config/desired`, DESIGN.md §6) as accepted by the device: the
 * version, the overlay (a partial configuration laid over the file configuration at every start)
 * and the last `config/reported` body. One row; a new accepted version replaces it in one
 * statement, so a crash leaves either the old or the new. A rejected version only replaces
 * `reported` (the applied version and overlay stay).
 *
 * The overlay may hold secrets (an MQTT password): it stays in the database and is never echoed
 * (config/reported carries key paths and errors only).
 */
import type Database from 'better-sqlite3';
import type { Clock } from '../../hw/base/clock';
import { TonewallError } from '../../hw/base/errors';
import type { JsonObject } from './json';

export interface FleetConfigRecord {
  /** The applied desired version (0: none). */
  version: number;
  overlay: JsonObject;
  /** The last `config/reported` body (without envelope). */
  reported: JsonObject | undefined;
}

interface Row {
  version: number;
  overlay: string;
  reported: string;
}

export class FleetConfigStore {
  private readonly getStmt: Database.Statement<[]>;
  private readonly putStmt: Database.Statement<[number, string, string, number]>;
  private readonly reportStmt: Database.Statement<[string, number]>;

  constructor(
    db: Database.Database,
    private readonly clock: Clock,
  ) {
    this.getStmt = db.prepare('SELECT version, overlay, reported FROM fleet_config WHERE id = 1');
    this.putStmt = db.prepare(
      'INSERT INTO fleet_config (id, version, overlay, reported, updated_ms) VALUES (1, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version, overlay = excluded.overlay, reported = excluded.reported, updated_ms = excluded.updated_ms',
    );
    this.reportStmt = db.prepare("INSERT INTO fleet_config (id, version, overlay, reported, updated_ms) VALUES (1, 0, '{}', ?, ?) ON CONFLICT(id) DO UPDATE SET reported = excluded.reported, updated_ms = excluded.updated_ms");
  }

  /** The accepted configuration (version 0 and an empty overlay when none was ever accepted). */
  get(): FleetConfigRecord {
    const row = this.getStmt.get() as Row | undefined;
    if (!row) return { version: 0, overlay: {}, reported: undefined };
    return { version: row.version, overlay: JSON.parse(row.overlay) as JsonObject, reported: JSON.parse(row.reported) as JsonObject };
  }

  /** Records an accepted version (applied or pending restart) with its overlay and report. */
  accept(version: number, overlay: JsonObject, reported: JsonObject): void {
    const current = this.get().version;
    if (!Number.isSafeInteger(version) || version <= current) {
      throw new TonewallError('ESTORE_CONFIG_VERSION', `fleet config version ${version} is not above the applied version ${current}`);
    }
    this.putStmt.run(version, JSON.stringify(overlay), JSON.stringify(reported), this.clock.now());
  }

  /** Records a report that does not change the applied version (a rejected desired config). */
  report(reported: JsonObject): void {
    this.reportStmt.run(JSON.stringify(reported), this.clock.now());
  }
}
