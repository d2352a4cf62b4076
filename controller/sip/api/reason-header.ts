/**
 * The Reason header of RFC 3326 carrying a Q.850 cause on BYE, CANCEL and final responses:
 * `Reason: Q.850;cause=16;text="Normal call clearing"`. Other protocols in a Reason value (SIP;cause=…)
 * are ignored when reading: only the Q.850 value maps to the PSTN release.
 */
import { headerValues, type SipMessage } from '../core/messages/message';

export interface Q850Reason {
  /** ITU-T Q.850 cause value, 1..127. */
  cause: number;
  text: string;
}

/** The header value for a Q.850 cause (quotes, backslashes and line breaks in the text become spaces). */
export function formatQ850Reason(reason: Q850Reason): string {
  const text = reason.text.replace(/["\\\r\n]/g, ' ');
  return `Q.850;cause=${reason.cause};text="${text}"`;
}

/** The first Q.850 Reason value of a message, or undefined (absent, other protocol, or cause out of 1..127). */
export function readQ850Reason(msg: SipMessage): Q850Reason | undefined {
  for (const value of headerValues(msg, 'reason')) {
    const m = /^\s*Q\.850\s*(;.*)?$/is.exec(value);
    if (!m) continue;
    const params = m[1] ?? '';
    const cause = /;\s*cause\s*=\s*([0-9]{1,3})\s*(?:;|$)/i.exec(params);
    const n = cause ? Number(cause[1]) : NaN;
    if (!(n >= 1 && n <= 127)) continue;
    const text = /;\s*text\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(params);
    return { cause: n, text: text?.[1] ?? '' };
  }
  return undefined;
}
