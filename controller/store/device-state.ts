/**
 * Small persisted key/value facts about the device (e.g. `mqtt.conn`, the CONNECT counter that
 * ties a last will to its connection, DESIGN.md §6). Values are strings; counters are decimal.
 */
import type Database from 'better-sqlite3';
import type { Clock } from '../../hw/base/clock';
import { TonewallError } from '../../hw/base/errors';

export class DeviceState {
  private readonly getStmt: Database.Statement<[string]>;
  private readonly setStmt: Database.Statement<[string, string, number]>;

  constructor(
    private readonly db: Database.Database,
    private readonly clock: Clock,
  ) {
    this.getStmt = db.prepare('SELECT value FROM device_state WHERE key = ?');
    this.setStmt = db.prepare(
      'INSERT INTO device_state (key, value, updated_ms) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms',
    );
  }

  get(key: string): string | undefined {
    return (this.getStmt.get(key) as { value: string } | undefined)?.value;
  }

  set(key: string, value: string): void {
    this.setStmt.run(key, value, this.clock.now());
  }

  /** Increments the counter `key` (absent = 0) durably and returns the new value. */
  increment(key: string): number {
    return this.db.transaction(() => {
      const cur = this.get(key);
      const n = cur === undefined ? 0 : Number(cur);
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new TonewallError('ESTORE_COUNTER', `device_state ${key} holds "${cur ?? ''}", expected a non-negative integer`);
      }
      this.set(key, String(n + 1));
      return n + 1;
    })();
  }
}
