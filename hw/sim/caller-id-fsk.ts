/**
 * The simulated exchange's caller ID transmitter (its own code, independent of the appliance's
 * receiver in controller/dsp, so the two check each other; SpanDSP checks both in the interop tests).
 *
 * Message (Telcordia GR-30, ETSI EN 300 659-3): SDMF 0x04 (MMDDHHMM + number, or "P"/"O") or MDMF
 * 0x80 (parameters 0x01 date/time, 0x02 number or 0x04 reason for absence, 0x07 name), then the
 * checksum (two's complement of the byte sum).
 * Audio: 1200 baud phase-continuous FSK, Bell 202 (mark 1200 / space 2200 Hz) or V.23 (1300 / 2100 Hz),
 * at -13 dBm0: channel seizure of 300 alternating bits (0 first), a mark signal (180 bits Bell,
 * 80 bits ETSI), the message as 8N1 characters (LSB first), then 5 mark bits.
 */
import { DBM0_PEAK } from '../../controller/dsp/tone-generator';

export type SimFskStandard = 'bell202' | 'v23';

export interface SimCallerId {
  format: 'sdmf' | 'mdmf';
  /** MMDDHHMM. */
  dateTime: string;
  /** Digits, or 'P' (private) / 'O' (unavailable). */
  number: string;
  /** MDMF only; omitted when empty. */
  name?: string;
}

const TONES: Record<SimFskStandard, { markHz: number; spaceHz: number; markBits: number }> = {
  bell202: { markHz: 1200, spaceHz: 2200, markBits: 180 },
  v23: { markHz: 1300, spaceHz: 2100, markBits: 80 },
};

function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0) & 0x7f);
}

/** The message bytes, checksum included. */
export function encodeCallerId(id: SimCallerId): Uint8Array {
  const absent = id.number === 'P' || id.number === 'O';
  let type: number;
  let body: number[];
  if (id.format === 'sdmf') {
    type = 0x04;
    body = [...ascii(id.dateTime), ...ascii(id.number)];
  } else {
    type = 0x80;
    body = [0x01, 8, ...ascii(id.dateTime)];
    body.push(absent ? 0x04 : 0x02, id.number.length, ...ascii(id.number));
    if (id.name) body.push(0x07, id.name.length, ...ascii(id.name));
  }
  const bytes = [type, body.length, ...body];
  const sum = bytes.reduce((a, b) => (a + b) & 0xff, 0);
  bytes.push((0x100 - sum) & 0xff);
  return Uint8Array.from(bytes);
}

/** The bit sequence on the line: seizure, mark, 8N1 characters, trailing marks. */
export function callerIdBits(message: Uint8Array, standard: SimFskStandard): number[] {
  const bits: number[] = [];
  for (let i = 0; i < 300; i++) bits.push(i & 1);
  for (let i = 0; i < TONES[standard].markBits; i++) bits.push(1);
  for (const byte of message) {
    bits.push(0);
    for (let b = 0; b < 8; b++) bits.push((byte >> b) & 1);
    bits.push(1);
  }
  for (let i = 0; i < 5; i++) bits.push(1);
  return bits;
}

/** 8 kHz linear audio of a caller ID transmission, phase continuous, at `levelDbm0` (default -13). */
export function callerIdAudio(id: SimCallerId, standard: SimFskStandard, levelDbm0 = -13): Int16Array {
  return fskAudio(callerIdBits(encodeCallerId(id), standard), standard, levelDbm0);
}

/** 8 kHz linear audio of any bit sequence at 1200 baud, phase continuous. */
export function fskAudio(bits: readonly number[], standard: SimFskStandard, levelDbm0 = -13): Int16Array {
  const samplesPerBit = 8000 / 1200;
  const total = Math.ceil(bits.length * samplesPerBit);
  const out = new Int16Array(total);
  const amp = DBM0_PEAK * 10 ** (levelDbm0 / 20);
  const { markHz, spaceHz } = TONES[standard];
  let phase = 0;
  for (let n = 0; n < total; n++) {
    const bit = bits[Math.min(bits.length - 1, Math.floor(n / samplesPerBit))];
    phase += (2 * Math.PI * (bit === 1 ? markHz : spaceHz)) / 8000;
    out[n] = Math.round(amp * Math.sin(phase));
  }
  return out;
}
