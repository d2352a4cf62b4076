/**
 * Session timers, RFC 4028: the pure decisions. The dialog session (api/dialog-session.ts) arms
 * the timers these functions compute.
 *
 *   UAC  INVITE  Supported: timer, Session-Expires: 1800, Min-SE: 90 ─────────────▶ UAS
 *        ◀──── 422 Min-SE: 600 (SE below the UAS minimum, §9) → retry with SE = Min-SE (§7.1)
 *        ◀──── 2xx Session-Expires: 1800;refresher=uac, Require: timer (§9)
 *   refresher: re-INVITE/UPDATE every SE/2 (§7.4, §10); the other side: BYE when
 *   SE − min(32 s, SE/3) passes without a refresh (§10).
 *
 * Roles in `refresher=uac|uas` are those of the transaction that carried the value (§7.4): for a
 * refresh we sent, `uac` means us.
 */
import { TonewallError } from '../../../../hw/base/errors';

/** Our policy: the interval we ask for and the smallest we accept (RFC 4028 §4: Min-SE ≥ 90 s). */
export interface SessionTimerPolicy {
  sessionExpiresS: number;
  minSeS: number;
}

export const DEFAULT_SESSION_TIMER: SessionTimerPolicy = { sessionExpiresS: 1800, minSeS: 90 };

/** RFC 4028 §4: the absolute minimum Min-SE. */
export const MIN_SE_FLOOR_S = 90;

export interface SessionExpires {
  intervalS: number;
  refresher: 'uac' | 'uas' | undefined;
}

/** A timer in force on a dialog: its interval and who refreshes it. */
export interface ActiveSessionTimer {
  intervalS: number;
  refresher: 'local' | 'remote';
}

/** `Session-Expires: delta-seconds *(;se-params)` (§4); throws naming the bad value. */
export function parseSessionExpires(value: string): SessionExpires {
  const m = /^\s*([0-9]{1,10})\s*((?:;.*)?)$/.exec(value);
  const intervalS = m ? Number(m[1]) : NaN;
  if (!m || !(intervalS >= 1)) throw new TonewallError('ESIPHEADER', `Session-Expires "${value}": expected delta-seconds ≥ 1 (RFC 4028 §4)`);
  const r = /;\s*refresher\s*=\s*([A-Za-z]+)/i.exec(m[2] ?? '');
  const who = r?.[1]?.toLowerCase();
  if (who !== undefined && who !== 'uac' && who !== 'uas') {
    throw new TonewallError('ESIPHEADER', `Session-Expires "${value}": refresher must be uac or uas (RFC 4028 §4)`);
  }
  return { intervalS, refresher: who };
}

export function formatSessionExpires(v: SessionExpires): string {
  return v.refresher === undefined ? String(v.intervalS) : `${v.intervalS};refresher=${v.refresher}`;
}

/** `Min-SE: delta-seconds` (§5); undefined when absent, throws when malformed. */
export function parseMinSe(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*([0-9]{1,10})\s*(?:;.*)?$/.exec(value);
  if (!m) throw new TonewallError('ESIPHEADER', `Min-SE "${value}": expected delta-seconds (RFC 4028 §5)`);
  return Number(m[1]);
}

export type UasTimerDecision =
  | { kind: 'reject-422'; minSeS: number }
  | { kind: 'timer'; sessionExpires: SessionExpires; require: boolean; active: ActiveSessionTimer };

/**
 * UAS side of an INVITE or UPDATE (§9): 422 when the asked interval is below our minimum;
 * otherwise the interval (never above what was asked, never below the request's Min-SE), the
 * refresher (the request's choice, else `uac` when the UAC supports timers, else `uas`), and
 * whether the 2xx carries `Require: timer` (only when the UAC supports it).
 */
export function uasTimerDecision(
  req: { sessionExpires: string | undefined; minSe: string | undefined; supportsTimer: boolean },
  policy: SessionTimerPolicy,
): UasTimerDecision {
  const reqMinSe = Math.max(parseMinSe(req.minSe) ?? MIN_SE_FLOOR_S, MIN_SE_FLOOR_S);
  if (req.sessionExpires === undefined) {
    // §9: the UAS may add a timer the UAC did not ask for; it refreshes itself unless the UAC can.
    const intervalS = Math.max(policy.sessionExpiresS, reqMinSe);
    const refresher = req.supportsTimer ? 'uac' : 'uas';
    return { kind: 'timer', sessionExpires: { intervalS, refresher }, require: req.supportsTimer, active: { intervalS, refresher: refresher === 'uas' ? 'local' : 'remote' } };
  }
  const asked = parseSessionExpires(req.sessionExpires);
  if (asked.intervalS < policy.minSeS) return { kind: 'reject-422', minSeS: Math.max(policy.minSeS, reqMinSe) };
  // Never above what was asked (§9: the UAS may only lower it), never below the minima unless the
  // asked interval itself is lower (it passed our minimum check above).
  const floorS = Math.min(Math.max(reqMinSe, policy.minSeS), asked.intervalS);
  const intervalS = Math.max(Math.min(asked.intervalS, policy.sessionExpiresS), floorS);
  const refresher = !req.supportsTimer ? 'uas' : asked.refresher ?? 'uac';
  return {
    kind: 'timer',
    sessionExpires: { intervalS, refresher },
    require: req.supportsTimer,
    active: { intervalS, refresher: refresher === 'uas' ? 'local' : 'remote' },
  };
}

/**
 * UAC side (§7.2): the timer a 2xx puts in force, or undefined when the 2xx has no
 * Session-Expires (then there is no session expiration). A missing refresher means the UAC.
 */
export function uacTimerFromResponse(sessionExpires: string | undefined): ActiveSessionTimer | undefined {
  if (sessionExpires === undefined) return undefined;
  const se = parseSessionExpires(sessionExpires);
  return { intervalS: se.intervalS, refresher: se.refresher === 'uas' ? 'remote' : 'local' };
}

/** §7.1: after a 422, ask again with the larger of our interval and the peer's Min-SE. */
export function intervalAfter422(policy: SessionTimerPolicy, minSeHeader: string | undefined, previousS: number): number {
  const minSe = parseMinSe(minSeHeader) ?? previousS;
  return Math.max(policy.sessionExpiresS, minSe, previousS);
}

/** §10: the refresher sends the refresh at half the interval. */
export function refreshDelayMs(t: ActiveSessionTimer): number {
  return (t.intervalS * 1000) / 2;
}

/** §10: the other side ends the session when SE − min(32, SE/3) seconds pass without a refresh. */
export function expiryDelayMs(t: ActiveSessionTimer): number {
  return (t.intervalS - Math.min(32, t.intervalS / 3)) * 1000;
}
