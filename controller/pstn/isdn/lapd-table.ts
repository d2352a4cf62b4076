/**
 * Types and the transition table of the Q.921 data link state machine (lapd-link.ts): states of
 * Q.921 §5 / Annex B for a point-to-point link with a fixed TEI, inputs (received frames and timer
 * expiries), and which LapdLink handler each state runs for each input.
 */
export type LapdRole = 'user' | 'network';
export type LapdState = 'tei-assigned' | 'awaiting-establishment' | 'awaiting-release' | 'multiple-frame-established' | 'timer-recovery';

export interface LapdTimers {
  t200Ms: number;
  n200: number;
  t203Ms: number;
  /** Maximum number of outstanding I frames (Q.921 §5.9.5). */
  k: number;
}
export const DEFAULT_LAPD_TIMERS: Readonly<LapdTimers> = { t200Ms: 1000, n200: 3, t203Ms: 10_000, k: 7 };

export interface LapdLinkEvents {
  /** DL-ESTABLISH indication/confirm: multiple-frame operation (re)started, all variables zero. */
  established: [];
  /** DL-RELEASE indication/confirm: the link left multiple-frame operation (or never reached it). */
  released: [reason: string];
  /** DL-DATA indication: one in-sequence I frame's information field. */
  data: [info: Buffer];
  /** DL-UNIT DATA indication (UI frame). */
  unitdata: [info: Buffer];
  /** MDL-ERROR indication: the Q.921 Table II-1 error code and what happened. */
  'mdl-error': [code: string, message: string];
}

export interface LapdCounters {
  framesIn: number;
  framesOut: number;
  badFrames: number;
  otherAddress: number;
  unexpected: number;
  retransmissions: number;
  rejectsSent: number;
}


export type LapdInput = 'SABME' | 'UA' | 'DM' | 'DISC' | 'FRMR' | 'I' | 'S' | 'UI' | 'T200' | 'T203';
export type LapdHandler = 'onSabme' | 'onUa' | 'onDm' | 'onDisc' | 'onFrmr' | 'onI' | 'onS' | 'onUi' | 'onT200' | 'onT203' | 'replyDm' | 'replyUa';

/** The transition table: state × input → handler. A missing entry is counted as `unexpected` and ignored (Q.921 §5.8.5). */
export const LAPD_TABLE: Record<LapdState, Partial<Record<LapdInput, LapdHandler>>> = {
  'tei-assigned': { SABME: 'onSabme', DISC: 'replyDm', UI: 'onUi' },
  'awaiting-establishment': { SABME: 'replyUa', UA: 'onUa', DM: 'onDm', DISC: 'replyDm', UI: 'onUi', T200: 'onT200' },
  'awaiting-release': { SABME: 'replyDm', UA: 'onUa', DM: 'onDm', DISC: 'replyUa', UI: 'onUi', T200: 'onT200' },
  'multiple-frame-established': { SABME: 'onSabme', DISC: 'onDisc', DM: 'onDm', FRMR: 'onFrmr', I: 'onI', S: 'onS', UI: 'onUi', T200: 'onT200', T203: 'onT203' },
  'timer-recovery': { SABME: 'onSabme', DISC: 'onDisc', DM: 'onDm', FRMR: 'onFrmr', I: 'onI', S: 'onS', UI: 'onUi', T200: 'onT200' },
};
