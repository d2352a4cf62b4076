/**
 * The SIP edge decision (DESIGN.md §7), pure apart from the injected clock: per request source,
 *
 *   banned (until banMs after the ban)                          → refuse 'banned'
 *   allowed peer: token bucket peerRatePerS, burst peerBurst     → accept, or refuse 'rate-limited'
 *   unknown source: refused; more than unknownBurst requests
 *     within unknownWindowMs bans it (scanners: OPTIONS/REGISTER/INVITE sweeps)  → 'unknown-source' / 'banned'
 *
 * A source that answers the edge's digest challenge (digest-gate.ts) is admitted like a peer for a
 * while (`authenticatedSource`); failed answers count towards a ban (`authFailure`).
 *
 * Each refusal says whether to log it: once per source and reason per logIntervalMs, with the count
 * refused silently since the last line (no log flood). Tables are bounded (`maxSources`): the
 * oldest entries go first, bans last.
 */
import type { Clock } from '../../../hw/base/clock';
import type { AllowList } from './allow-list';
import { normaliseIp } from './allow-list';

export type EdgeReason = 'unknown-source' | 'rate-limited' | 'banned';

export type EdgeVerdict = { accept: true } | { accept: false; reason: EdgeReason; log: boolean; suppressed: number; bannedNow: boolean };

export interface EdgePolicyOptions {
  allow: AllowList;
  peerRatePerS: number;
  peerBurst: number;
  unknownBurst: number;
  unknownWindowMs: number;
  banMs: number;
  logIntervalMs: number;
  maxSources?: number;
}

export interface EdgeStats {
  accepted: number;
  refused: Record<EdgeReason, number>;
  bansActive: number;
  bansTotal: number;
}

function trim<K, V>(m: Map<K, V>, max: number): void {
  while (m.size > max) {
    const first = m.keys().next();
    if (first.done === true) return;
    m.delete(first.value);
  }
}

export class EdgePolicy {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();
  private readonly unknown = new Map<string, { count: number; windowStartMs: number }>();
  private readonly bans = new Map<string, number>();
  private readonly logged = new Map<string, { atMs: number; suppressed: number }>();
  /** Sources that answered a digest challenge (sip.edge.authenticateUnknown): admitted until the time kept. */
  private readonly authenticated = new Map<string, number>();
  private readonly authFailures = new Map<string, number>();
  private readonly counters: EdgeStats = { accepted: 0, refused: { 'unknown-source': 0, 'rate-limited': 0, banned: 0 }, bansActive: 0, bansTotal: 0 };
  private readonly max: number;

  constructor(private readonly o: EdgePolicyOptions, private readonly clock: Clock) {
    this.max = o.maxSources ?? 10_000;
  }

  get stats(): EdgeStats {
    const now = this.clock.monotonicMs();
    let active = 0;
    for (const until of this.bans.values()) if (until > now) active++;
    return { ...this.counters, refused: { ...this.counters.refused }, bansActive: active };
  }

  check(sourceAddress: string): EdgeVerdict {
    const source = normaliseIp(sourceAddress);
    const now = this.clock.monotonicMs();
    const until = this.bans.get(source);
    if (until !== undefined) {
      if (until > now) return this.refuse(source, 'banned', now, false);
      this.bans.delete(source);
    }
    const authUntil = this.authenticated.get(source);
    if (authUntil !== undefined && authUntil <= now) this.authenticated.delete(source);
    if (this.o.allow.has(source) || (authUntil !== undefined && authUntil > now)) {
      if (this.takeToken(source, now)) {
        this.counters.accepted++;
        return { accept: true };
      }
      return this.refuse(source, 'rate-limited', now, false);
    }
    let w = this.unknown.get(source);
    if (!w || now - w.windowStartMs >= this.o.unknownWindowMs) {
      w = { count: 0, windowStartMs: now };
      this.unknown.delete(source);
      this.unknown.set(source, w);
      trim(this.unknown, this.max);
    }
    w.count++;
    if (w.count > this.o.unknownBurst) {
      this.unknown.delete(source);
      this.bans.set(source, now + this.o.banMs);
      trim(this.bans, this.max);
      this.counters.bansTotal++;
      return this.refuse(source, 'banned', now, true);
    }
    return this.refuse(source, 'unknown-source', now, false);
  }

  /** True while `sourceAddress` is banned (connections from it are refused at accept). */
  isBanned(sourceAddress: string): boolean {
    return (this.bans.get(normaliseIp(sourceAddress)) ?? 0) > this.clock.monotonicMs();
  }

  /** A source that answered a digest challenge: admitted like a peer (rate-limited) for `ttlMs`. */
  authenticatedSource(sourceAddress: string, ttlMs: number): void {
    const source = normaliseIp(sourceAddress);
    this.authenticated.delete(source);
    this.authenticated.set(source, this.clock.monotonicMs() + ttlMs);
    trim(this.authenticated, this.max);
    this.authFailures.delete(source);
    this.unknown.delete(source);
  }

  /** Counts a failed authentication; the `maxFailures`-th bans the source (returns true then). */
  authFailure(sourceAddress: string, maxFailures: number): boolean {
    const source = normaliseIp(sourceAddress);
    const n = (this.authFailures.get(source) ?? 0) + 1;
    this.authFailures.delete(source);
    if (n < maxFailures) {
      this.authFailures.set(source, n);
      trim(this.authFailures, this.max);
      return false;
    }
    const now = this.clock.monotonicMs();
    this.authenticated.delete(source);
    this.bans.set(source, now + this.o.banMs);
    trim(this.bans, this.max);
    this.counters.bansTotal++;
    return true;
  }

  private takeToken(source: string, now: number): boolean {
    let b = this.buckets.get(source);
    if (!b) {
      b = { tokens: this.o.peerBurst, atMs: now };
      this.buckets.set(source, b);
      trim(this.buckets, this.max);
    }
    b.tokens = Math.min(this.o.peerBurst, b.tokens + ((now - b.atMs) / 1000) * this.o.peerRatePerS);
    b.atMs = now;
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  private refuse(source: string, reason: EdgeReason, now: number, bannedNow: boolean): EdgeVerdict {
    this.counters.refused[reason]++;
    const key = `${source}|${reason}`;
    const l = this.logged.get(key);
    if (!bannedNow && l && now - l.atMs < this.o.logIntervalMs) {
      l.suppressed++;
      return { accept: false, reason, log: false, suppressed: l.suppressed, bannedNow };
    }
    const suppressed = l?.suppressed ?? 0;
    this.logged.delete(key);
    this.logged.set(key, { atMs: now, suppressed: 0 });
    trim(this.logged, this.max);
    return { accept: false, reason, log: true, suppressed, bannedNow };
  }
}
