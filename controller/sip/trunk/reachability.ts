/**
 * Trunk reachability with hysteresis, from OPTIONS keepalives (RFC 3261 §11) and call outcomes.
 *
 *            success                 downAfter failures in a row
 *   unknown ----------> up  <-------------------------------------> down
 *      |                     upAfter successes in a row
 *      +--- downAfter failures in a row ---> down
 *
 * A probe succeeds with any final response except 408 (no answer), 503 (unavailable, RFC 3261
 * §21.5.4) and transport errors: a 404 or 405 still proves a live SIP server (§11.2). Pure: the
 * trunk set feeds outcomes in and reads the state; timers live in the trunk set.
 */
export type Reachability = 'unknown' | 'up' | 'down';

export interface ReachabilityOptions {
  downAfter: number;
  upAfter: number;
}

export function probeSucceeded(status: number): boolean {
  return status >= 200 && status !== 408 && status !== 503;
}

export class ReachabilityTracker {
  private current: Reachability = 'unknown';
  private failures = 0;
  private successes = 0;

  constructor(private readonly opts: ReachabilityOptions) {}

  get state(): Reachability {
    return this.current;
  }

  /** Feeds one outcome; returns true when the state changed. */
  record(ok: boolean): boolean {
    const before = this.current;
    if (ok) {
      this.failures = 0;
      this.successes++;
      if (this.current === 'unknown' || (this.current === 'down' && this.successes >= this.opts.upAfter)) this.current = 'up';
    } else {
      this.successes = 0;
      this.failures++;
      if (this.current !== 'down' && this.failures >= this.opts.downAfter) this.current = 'down';
    }
    return before !== this.current;
  }
}
