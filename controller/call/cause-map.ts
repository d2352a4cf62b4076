/**
 * Release cause mapping between ISDN/Q.850 and SIP, RFC 3398 §7.2.4.1 (SIP → Q.850, for a failed
 * INVITE) and §8.2.6.1 (Q.850 → SIP, for a PSTN leg that fails before answer). The Reason header
 * of RFC 3326 carries the Q.850 value itself alongside.
 */

/** RFC 3398 §7.2.4.1: SIP final response → Q.850 cause. */
const SIP_TO_Q850: Readonly<Record<number, number>> = {
  400: 41, 401: 21, 402: 21, 403: 21, 404: 1, 405: 63, 406: 79, 407: 21, 408: 102, 410: 22,
  413: 127, 414: 28, 415: 79, 416: 127, 420: 127, 421: 127, 423: 127, 480: 18, 481: 41, 482: 25,
  483: 25, 484: 28, 485: 1, 486: 17, 487: 127, 488: 127, 500: 41, 501: 79, 502: 38, 503: 41,
  504: 102, 505: 127, 513: 127, 600: 17, 603: 21, 604: 1, 606: 58,
};

/** RFC 3398 §8.2.6.1: Q.850 cause → SIP final response. */
const Q850_TO_SIP: Readonly<Record<number, number>> = {
  1: 404, 2: 404, 3: 404, 17: 486, 18: 408, 19: 480, 20: 480, 21: 403, 22: 410, 23: 410, 26: 404,
  27: 502, 28: 484, 29: 501, 31: 480, 34: 503, 38: 503, 41: 503, 42: 503, 44: 503, 47: 503,
  55: 403, 57: 403, 58: 503, 65: 488, 69: 501, 70: 488, 79: 501, 87: 403, 88: 503, 102: 504,
  111: 500, 127: 500,
};

/** Q.850 cause for a SIP final response; unlisted codes fall back by class as RFC 3398 suggests. */
export function sipStatusToQ850(status: number): number {
  const exact = SIP_TO_Q850[status];
  if (exact !== undefined) return exact;
  if (status >= 600) return 31; // global failure: normal, unspecified
  if (status >= 500) return 41; // server failure: temporary failure
  return 31; // other client errors: normal, unspecified
}

/** SIP response code for a PSTN-side cause; unlisted causes map to 500. */
export function q850ToSipStatus(q850: number): number {
  return Q850_TO_SIP[q850] ?? 500;
}

/** The RFC 3326 Reason header value for a Q.850 cause. */
export function reasonHeader(q850: number, text: string): string {
  return `Q.850;cause=${q850};text="${text.replace(/["\\\r\n]/g, ' ')}"`;
}
