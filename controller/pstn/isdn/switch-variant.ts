/**
 * Switch variants: what differs between ETSI Euro-ISDN (ETS 300 102 / EN 300 403, on E1) and
 * Telcordia NI-2 (GR-4001 / ANSI T1.607, on T1) for the basic-call subset implemented here.
 * docs/isdn.md lists the differences and what is not done (5ESS, DMS-100, NI-2 Facility name delivery).
 */
export type SwitchVariantName = 'etsi' | 'ni2';

export interface Q931Timers {
  /** SETUP sent, no answer (Q.931 Table 9-1/9-2): resend once, then clear. */
  t303Ms: number;
  /** DISCONNECT sent, no RELEASE/DISCONNECT: send RELEASE. */
  t305Ms: number;
  /** RELEASE sent, no RELEASE COMPLETE: resend once, then release the call reference. */
  t308Ms: number;
  /** Data link lost with active calls: clear them if the link is not back in time (§5.8.9). */
  t309Ms: number;
  /** CALL PROCEEDING received, no ALERTING/CONNECT/DISCONNECT: clear. */
  t310Ms: number;
  /** User: CONNECT sent, no CONNECT ACKNOWLEDGE: clear. */
  t313Ms: number;
  /** RESTART sent, no RESTART ACKNOWLEDGE: resend. */
  t316Ms: number;
}

export interface SwitchVariant {
  name: SwitchVariantName;
  /** User information layer 1 protocol put in bearer capability: 3 A-law (E1), 2 µ-law (T1). */
  layer1: number;
  /** B-channel numbers on the span (E1: 1..31 without 16, which is the D channel; T1 PRI: 1..23). */
  bChannels: number[];
  /** Whether a calling name may travel in a display IE in SETUP (NI-2 uses a Facility IE instead). */
  displayCallingName: boolean;
  /** Numbering plan put in party numbers: 1 = ISDN/E.164. */
  numberingPlan: number;
  /** NI-2 expects the user to restart all channels when the D channel comes up (GR-4001 §8); ETSI does not. */
  restartOnLinkUp: boolean;
  timers: Q931Timers;
}

const BASE_TIMERS: Q931Timers = { t303Ms: 4000, t305Ms: 30_000, t308Ms: 4000, t309Ms: 90_000, t310Ms: 30_000, t313Ms: 4000, t316Ms: 120_000 };

const E1_CHANNELS = Array.from({ length: 31 }, (_, i) => i + 1).filter((c) => c !== 16);
const T1_CHANNELS = Array.from({ length: 23 }, (_, i) => i + 1);

export const SWITCH_VARIANTS: Readonly<Record<SwitchVariantName, SwitchVariant>> = {
  etsi: { name: 'etsi', layer1: 3, bChannels: E1_CHANNELS, displayCallingName: true, numberingPlan: 1, restartOnLinkUp: false, timers: BASE_TIMERS },
  ni2: { name: 'ni2', layer1: 2, bChannels: T1_CHANNELS, displayCallingName: false, numberingPlan: 1, restartOnLinkUp: true, timers: { ...BASE_TIMERS, t310Ms: 10_000 } },
};
