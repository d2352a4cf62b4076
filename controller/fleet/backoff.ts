/**
 * Reconnect delay with exponential growth and jitter (DESIGN.md §6: a fleet of hundreds must not
 * reconnect in step after a broker restart; MQTT.js only knows a fixed interval).
 *
 * For attempt n (0 = first retry): cap = min(maxMs, minMs·2^(n+1)); the delay is uniform in
 * [cap/2, cap], never below minMs. So attempt 0 waits minMs..2·minMs and the delay keeps a 50 %
 * jitter band even once it saturates at maxMs/2..maxMs.
 */
import { TonewallError } from '../../hw/base/errors';

export function backoffDelayMs(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  if (!(minMs > 0) || !(maxMs >= minMs)) {
    throw new TonewallError('EFLEET_BACKOFF', `reconnect bounds ${minMs}..${maxMs} ms are not 0 < min <= max`);
  }
  const n = Math.max(0, Math.min(Math.floor(attempt), 52));
  const cap = Math.min(maxMs, minMs * 2 ** (n + 1));
  const r = Math.min(Math.max(random(), 0), 1);
  const delay = cap / 2 + r * (cap / 2);
  return Math.round(Math.min(maxMs, Math.max(minMs, delay)));
}
