/**
 * The update job's state machine as a transition table (docs/mqtt/ota.md):
 *
 *   queued ─▶ waiting_window ─▶ downloading ─▶ verifying ─▶ draining ─▶ installing ─▶ rebooting
 *      │            (notBefore)      (HTTPS)     (sha256 +     (no new     (inactive      (switch slot,
 *      │                                         manifest sig)  calls)      slot)          restart)
 *      │                                                                                      │
 *      │                                                            health_gate ◀─────────────┘
 *      │                                                            │         │
 *      └──▶ rejected / succeeded (already running)             succeeded   rolled_back
 *
 * A restart during waiting_window … draining goes back to `queued` (the job runs again, at most 3
 * times). Any step before installing can end in `failed` or `canceled`; installing and rebooting in
 * `failed` (the running slot is untouched until the switch). The download and verification run
 * while calls go on; only the install and restart wait for the drain.
 */
import { TonewallError } from '../../../hw/base/errors';
import type { OtaState } from '../payload-schemas';

export type { OtaState } from '../payload-schemas';

export const TERMINAL_OTA_STATES: ReadonlySet<OtaState> = new Set(['succeeded', 'rolled_back', 'failed', 'rejected', 'canceled']);

const TRANSITIONS: Readonly<Record<OtaState, readonly OtaState[]>> = {
  queued: ['waiting_window', 'downloading', 'succeeded', 'rejected', 'failed', 'canceled'],
  waiting_window: ['downloading', 'queued', 'failed', 'canceled'],
  downloading: ['verifying', 'queued', 'failed', 'canceled'],
  verifying: ['draining', 'installing', 'queued', 'failed', 'canceled'],
  draining: ['installing', 'queued', 'failed', 'canceled'],
  installing: ['rebooting', 'failed'],
  rebooting: ['health_gate', 'rolled_back', 'failed'],
  health_gate: ['succeeded', 'rolled_back'],
  succeeded: [],
  rolled_back: [],
  failed: [],
  rejected: [],
  canceled: [],
};

export function isTerminal(state: OtaState): boolean {
  return TERMINAL_OTA_STATES.has(state);
}

export function canTransition(from: OtaState, to: OtaState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws EOTA_STATE naming both states when the table has no such edge. */
export function assertTransition(from: OtaState, to: OtaState): void {
  if (!canTransition(from, to)) {
    throw new TonewallError('EOTA_STATE', `update job cannot go from "${from}" to "${to}"; from "${from}" it may go to ${TRANSITIONS[from].map((s) => `"${s}"`).join(', ') || 'nothing (terminal)'}`);
  }
}

/** States in which a cancel (empty `ota/job`) or a newer job still stops the job: nothing installed yet. */
export function isCancelable(state: OtaState): boolean {
  return canTransition(state, 'canceled');
}
