/**
 * The state of one T1/E1 span as the fleet reports it (`spans/{n}`, DESIGN.md §6): framing and line
 * coding, layer 1 alarms, the card's error counters, the D channel and the B channels in use. A plain
 * object (no card data, no numbers), built by PriTrunk and handed to whoever publishes it.
 *
 * Framing and line coding are what the trunk configured with span-config and the card accepted
 * (`configured: 'accepted'`): E1 CRC-4 multiframe + HDB3 (ITU-T G.704 §2.3, G.703), T1 ESF + B8ZS
 * (ANSI T1.403) unless configured otherwise. Alarms (ITU-T G.775, ANSI T1.231): LOS loss of signal,
 * LOF loss of frame, AIS alarm indication signal (all ones from upstream), RAI remote alarm (the far
 * end lost our signal). Counters are the card's u32 counts since it booted (docs/card-link.md §4.10).
 */
import type { SpanAlarm, SpanInfo } from '../../../hw/card/types';
import type { SpanCounters, SpanFraming, SpanLineCode } from '../../../hw/link/messages';

export interface SpanLineConfig {
  framing: SpanFraming;
  lineCode: SpanLineCode;
}

export interface SpanStateBody {
  span: number;
  type: 'E1' | 'T1';
  framing: SpanFraming;
  lineCoding: SpanLineCode;
  /** The card's answer to the span-config: 'pending' until it answers, 'refused' with `configError`. */
  configured: 'pending' | 'accepted' | 'refused' | 'not-sent';
  configError?: string;
  /** Active alarms, empty when the span is clean. */
  alarms: SpanAlarm[];
  /** No LOS/LOF/AIS: frames arrive. */
  layer1Up: boolean;
  dchannelUp: boolean;
  channels: { total: number; inUse: number; maintenance: number };
  counters: { slips: number; crcErrors: number; framingErrors: number; lineCodeViolations: number };
}

/** Default framing and line coding of a span type. */
export function defaultLineConfig(span: SpanInfo): SpanLineConfig {
  return span.type === 'E1' ? { framing: 'crc4', lineCode: 'hdb3' } : { framing: 'esf', lineCode: 'b8zs' };
}

export const ZERO_COUNTERS: SpanStateBody['counters'] = { slips: 0, crcErrors: 0, framingErrors: 0, lineCodeViolations: 0 };

export function countersOf(c: SpanCounters): SpanStateBody['counters'] {
  return { slips: c.slips, crcErrors: c.crcErrors, framingErrors: c.framingErrors, lineCodeViolations: c.lineCodeViolations };
}

/** Whether two bodies differ in anything a subscriber cares about (used to emit only changes). */
export function sameSpanState(a: SpanStateBody | undefined, b: SpanStateBody): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
