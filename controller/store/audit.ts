/**
 * The audit trail (DESIGN.md §8, PCI DSS 10.2): every command received — who (actor), from where
 * (source), what (action), the outcome (result) and a free-text detail. Append-only from the API.
 * No card data: details are scanned and refused like outbox events.
 */
import type Database from 'better-sqlite3';
import type { Clock } from '../../hw/base/clock';
import { TonewallError } from '../../hw/base/errors';
import { describeFinding, findSensitive } from './sensitive-scan';

export interface AuditEntry {
  id: number;
  ts: number;
  source: string;
  action: string;
  actor: string | null;
  result: string;
  detail: string | null;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'ts' | 'actor' | 'detail'> & { actor?: string | null; detail?: string | null; ts?: number };

export class AuditLog {
  private readonly insertStmt: Database.Statement<[number, string, string, string | null, string, string | null]>;
  private readonly recentStmt: Database.Statement<[number]>;

  constructor(
    db: Database.Database,
    private readonly clock: Clock,
  ) {
    this.insertStmt = db.prepare('INSERT INTO audit (ts, source, action, actor, result, detail) VALUES (?, ?, ?, ?, ?, ?)');
    this.recentStmt = db.prepare('SELECT * FROM audit ORDER BY id DESC LIMIT ?');
  }

  append(e: AuditInput): AuditEntry {
    const finding = findSensitive({ source: e.source, action: e.action, actor: e.actor ?? null, result: e.result, detail: e.detail ?? null }, 'audit');
    if (finding) throw new TonewallError('EAUDIT_SENSITIVE', `audit entry refused: ${describeFinding(finding)}`);
    const ts = e.ts ?? this.clock.now();
    const r = this.insertStmt.run(ts, e.source, e.action, e.actor ?? null, e.result, e.detail ?? null);
    return { id: Number(r.lastInsertRowid), ts, source: e.source, action: e.action, actor: e.actor ?? null, result: e.result, detail: e.detail ?? null };
  }

  /** The newest `limit` entries, newest first. */
  recent(limit: number): AuditEntry[] {
    return this.recentStmt.all(limit) as AuditEntry[];
  }
}
