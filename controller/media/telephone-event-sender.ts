/**
 * Uplink RFC 4733 events (PSTN → SIP) for a digit the uplink DSP has finished detecting: the DSP
 * reports a digit once it ended, so the whole event is known and is sent at once as one start
 * packet (marker bit, RFC 4733 §2.5.1.1) and the three end packets (§2.5.1.4: E bit, final
 * duration, same timestamp), all carrying the event's start timestamp: the media clock minus the
 * digit's duration. Whether a digit may be sent at all is the caller's policy (never a digit
 * pressed in secure mode, DESIGN.md §5).
 */
import { DTMF_DIGITS } from '../dsp/tone-generator';
import { DTMF_EVENT_CHARS, encodeTelephoneEvent } from './rtp-event';

/** What the pipeline needs of a detected digit (structurally the DSP's UplinkDigitEvent). */
export interface UplinkDigit {
  /** Row × 4 + column: an index into DTMF_DIGITS ('123A456B789C*0#D'). */
  code: number;
  startSample: number;
  endSample: number;
  /** Pressed in secure mode: masked, never signalled. */
  secure: boolean;
}

export interface EventPacket {
  payload: Buffer;
  marker: boolean;
  /** Samples between the event's start and the media clock now. */
  timestampOffset: number;
}

/** Default volume of generated events, -dBm0 (RFC 4733 §2.3.4: typical DTMF level). */
export const UPLINK_EVENT_VOLUME = 10;

export function uplinkEventPackets(digit: UplinkDigit): EventPacket[] {
  const event = DTMF_EVENT_CHARS.indexOf(DTMF_DIGITS.charAt(digit.code));
  const durationSamples = Math.max(320, Math.min(0xffff, digit.endSample - digit.startSample));
  const start = encodeTelephoneEvent({ event, end: false, volumeDbm0: UPLINK_EVENT_VOLUME, durationSamples: Math.min(160, durationSamples) });
  const end = encodeTelephoneEvent({ event, end: true, volumeDbm0: UPLINK_EVENT_VOLUME, durationSamples });
  return [
    { payload: start, marker: true, timestampOffset: durationSamples },
    { payload: end, marker: false, timestampOffset: durationSamples },
    { payload: end, marker: false, timestampOffset: durationSamples },
    { payload: end, marker: false, timestampOffset: durationSamples },
  ];
}
