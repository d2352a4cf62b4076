/**
 * The single check every outgoing MQTT message passes (DESIGN.md §6/§7): a topic or payload that
 * carries anything card-like is refused with EFLEET_GUARD and counted; nothing is sent.
 *
 * - Topic: refused when it holds a card-like digit run (hw/base/card-guard.ts).
 * - Payload: store/sensitive-scan.ts over the structured value — forbidden keys at any depth
 *   (`pan`, `digits`, `dtmf`, `cvv`, `expiry`, `card`, …), card-like digit runs in every string and
 *   number, except 13-digit integers under timestamp keys (the envelope's `ts`, `createdTs`,
 *   `startedAt`, `…Ms`): a 13-digit epoch-ms time is Luhn-valid one time in ten by chance.
 * - The error message names the topic and where the finding is, never the offending value.
 */
import { findCardLikeRun } from '../../hw/base/card-guard';
import { TonewallError } from '../../hw/base/errors';
import { describeFinding, findSensitive } from '../store/sensitive-scan';

export class PublishGuard {
  /** Messages refused since start (reaches the fleet as a metric). */
  refused = 0;

  /** Throws EFLEET_GUARD when `topic` or `payload` (null = empty payload) looks like card data. */
  check(topic: string, payload: object | null): void {
    const topicRun = findCardLikeRun(topic);
    if (topicRun) {
      this.refused++;
      throw new TonewallError('EFLEET_GUARD', `publish refused: topic has a card-like digit run (${topicRun.digits} digits at index ${topicRun.start})`);
    }
    if (payload === null) return;
    const finding = findSensitive(payload, '$');
    if (finding) {
      this.refused++;
      throw new TonewallError('EFLEET_GUARD', `publish to ${topic} refused: ${describeFinding(finding)}`);
    }
  }
}
