/**
 * The card link state machine (docs/card-link.md §3), as data: the states, which transitions are
 * legal, and the reconnect backoff. The driver (serial-card.ts) executes it.
 *
 *        start()            port open             card-hello (version ok)
 *   disconnected ──▶ connecting ──────▶ handshaking ─────────────▶ up
 *        ▲  ▲  reconnect   │ open failed     │ timeout / bad version   │ keepalive loss, port closed
 *        │  └──── timer ◀──┘                 │                         │
 *        └───────────────────────────────────┴─────────────────────────┘
 *                              card-hello while up (card restarted): up ──▶ handshaking
 *
 * stop() is legal from every state and ends in disconnected with no reconnect timer.
 */
import { TonewallError } from '../base/errors';
import type { CardLinkState } from './types';

/** Legal transitions: from → the states it may go to. */
export const LINK_TRANSITIONS: Readonly<Record<CardLinkState, readonly CardLinkState[]>> = {
  disconnected: ['connecting', 'disconnected'],
  connecting: ['handshaking', 'disconnected'],
  handshaking: ['up', 'disconnected'],
  up: ['handshaking', 'disconnected'],
};

/** Throws CARD_LINK_TRANSITION naming both states when `from → to` is not in the table. */
export function checkTransition(from: CardLinkState, to: CardLinkState): void {
  if (!LINK_TRANSITIONS[from].includes(to)) {
    throw new TonewallError('CARD_LINK_TRANSITION', `illegal card link transition ${from} → ${to}, expected ${from} → ${LINK_TRANSITIONS[from].join(' | ')}`);
  }
}

/**
 * Reconnect delay before attempt `failures` (1 = the first retry): exponential from minMs, capped
 * at maxMs, with "equal jitter" (uniform in [d/2, d]) so a fleet does not reconnect in step.
 * `random` returns [0, 1).
 */
export function reconnectDelayMs(failures: number, minMs: number, maxMs: number, random: () => number): number {
  const exp = Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(30, failures - 1)));
  const d = Math.max(minMs, exp);
  return Math.round(d / 2 + random() * (d / 2));
}

/**
 * A card may say hello on attach and answers every host-hello (docs/card-link.md §3.1), so while
 * up, identical card-hellos that come before any other card frame, no more than the host-hellos
 * sent plus one, are duplicates to absorb. Any other card-hello while up means the card restarted.
 */
export function isDuplicateHello(h: { framesSinceUp: number; cardHellosSeen: number; hostHellosSent: number; sameInfo: boolean }): boolean {
  return h.sameInfo && h.framesSinceUp === 0 && h.cardHellosSeen <= h.hostHellosSent + 1;
}
