/**
 * RFC 4733 §2.3 telephone-event payload (DTMF named events over RTP):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   |     event     |E|R| volume    |          duration             |
 *
 * event 0-9 digits, 10 '*', 11 '#', 12-15 A-D (RFC 4733 §3.2); volume in -dBm0 (0..63); duration
 * in timestamp units (8 kHz) since the event's RTP timestamp. Several events may be stacked in one
 * payload (4 bytes each, §2.5.1.5 redundancy is a different payload and not handled here).
 *
 * These are the agent-side events that the downlink regenerates as in-band DTMF toward the PSTN
 * (DESIGN.md §5). Uplink digits are never sent as events in secure mode; that is the masker's rule,
 * not this codec's.
 */
import { TonewallError } from '../../hw/base/errors';

export interface TelephoneEvent {
  event: number;
  end: boolean;
  /** Power level, -dBm0 (0 = loudest, 63 = quietest). */
  volumeDbm0: number;
  /** Duration so far, in RTP timestamp units (samples at 8 kHz). */
  durationSamples: number;
}

export const TELEPHONE_EVENT_BYTES = 4;

/** RFC 4733 §3.2 events 0-15 as their keypad characters. */
export const DTMF_EVENT_CHARS = '0123456789*#ABCD';

export function decodeTelephoneEvents(payload: Uint8Array): TelephoneEvent[] {
  if (payload.length === 0 || payload.length % TELEPHONE_EVENT_BYTES !== 0) {
    throw new TonewallError('ERTPEVENT', `telephone-event payload of ${payload.length} bytes is not a non-zero multiple of 4`);
  }
  const out: TelephoneEvent[] = [];
  for (let o = 0; o < payload.length; o += 4) {
    const b1 = payload[o + 1] ?? 0;
    out.push({
      event: payload[o] ?? 0,
      end: (b1 & 0x80) !== 0,
      volumeDbm0: b1 & 0x3f,
      durationSamples: ((payload[o + 2] ?? 0) << 8) | (payload[o + 3] ?? 0),
    });
  }
  return out;
}

export function encodeTelephoneEvent(ev: TelephoneEvent): Buffer {
  if (!Number.isInteger(ev.event) || ev.event < 0 || ev.event > 255) throw new TonewallError('ERTPEVENT', `event code ${ev.event} is not 0-255`);
  if (!Number.isInteger(ev.volumeDbm0) || ev.volumeDbm0 < 0 || ev.volumeDbm0 > 63) throw new TonewallError('ERTPEVENT', `volume ${ev.volumeDbm0} is not 0-63 (-dBm0)`);
  if (!Number.isInteger(ev.durationSamples) || ev.durationSamples < 0 || ev.durationSamples > 0xffff) {
    throw new TonewallError('ERTPEVENT', `duration ${ev.durationSamples} is not 0-65535 samples`);
  }
  const b = Buffer.alloc(4);
  b[0] = ev.event;
  b[1] = (ev.end ? 0x80 : 0) | ev.volumeDbm0;
  b.writeUInt16BE(ev.durationSamples, 2);
  return b;
}
