/**
 * Caller ID message decoding: the on-hook data link layer message of Telcordia GR-30 / ETSI EN 300
 * 659-3 as the FSK demodulator delivers it, and DTMF caller ID (ETSI EN 300 659-1 Annex B / ES 200 778,
 * the A…C and A…# forms).
 *
 * FSK message: type (1 byte), length L (1 byte), L bytes, checksum (1 byte: the two's complement of
 * the sum of all other bytes, so everything sums to 0 mod 256).
 *   0x04 SDMF caller ID: 8 ASCII digits MMDDHHMM, then the number, or "O" (out of area) / "P" (private).
 *   0x80 MDMF call setup: parameters type, length, value: 0x01 date and time MMDDHHMM, 0x02 calling
 *        number, 0x04 reason for absence of number ("O" / "P"), 0x07 calling name, 0x08 reason for
 *        absence of name; others (0x03 called number, 0x11 call type, …) are skipped.
 * Every error is a TonewallError naming what was wrong and what was expected; no content of the
 * message (numbers, names) appears in an error.
 */
import { TonewallError } from '../../hw/base/errors';

export type Absence = 'private' | 'unavailable';

export interface CallerIdDateTime {
  month: number;
  day: number;
  hour: number;
  minute: number;
}

export interface CallerId {
  format: 'sdmf' | 'mdmf' | 'dtmf';
  dateTime?: CallerIdDateTime;
  number?: string;
  numberAbsence?: Absence;
  name?: string;
  nameAbsence?: Absence;
}

export const MSG_SDMF_CALLER_ID = 0x04;
export const MSG_MDMF_CALL_SETUP = 0x80;
/** Longest message body the decoder accepts (the length byte's range). */
export const MAX_BODY_BYTES = 255;

function fail(message: string): never {
  throw new TonewallError('ECALLERID', message);
}

/** Whether a byte can open a caller ID message (what the receiver hunts for after the mark signal). */
export function isCallerIdType(byte: number): boolean {
  return byte === MSG_SDMF_CALLER_ID || byte === MSG_MDMF_CALL_SETUP;
}

/** Decodes a whole FSK message including its checksum byte. */
export function decodeCallerIdMessage(bytes: Uint8Array): CallerId {
  if (bytes.length < 3) fail(`caller ID message of ${bytes.length} bytes is shorter than 3 (type, length, checksum)`);
  const type = bytes[0] as number;
  const len = bytes[1] as number;
  if (bytes.length !== len + 3) fail(`caller ID message length byte ${len} does not match ${bytes.length} bytes received (expected ${len + 3})`);
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  if (sum !== 0) fail(`caller ID checksum mismatch: bytes sum to 0x${sum.toString(16).padStart(2, '0')} mod 256, expected 0x00`);
  const body = bytes.subarray(2, 2 + len);
  if (type === MSG_SDMF_CALLER_ID) return decodeSdmf(body);
  if (type === MSG_MDMF_CALL_SETUP) return decodeMdmf(body);
  return fail(`message type 0x${type.toString(16).padStart(2, '0')} is not caller ID (expected 0x04 SDMF or 0x80 MDMF)`);
}

function decodeSdmf(body: Uint8Array): CallerId {
  if (body.length < 9) fail(`SDMF body of ${body.length} bytes is shorter than 9 (8 date/time digits and a number or reason)`);
  const dateTime = readDateTime(body.subarray(0, 8), 'SDMF');
  const rest = body.subarray(8);
  const absence = rest.length === 1 ? absenceOf(rest[0] as number) : undefined;
  if (absence) return { format: 'sdmf', dateTime, numberAbsence: absence };
  return { format: 'sdmf', dateTime, number: readText(rest, 'SDMF number', /^[0-9*#+ -]$/) };
}

function decodeMdmf(body: Uint8Array): CallerId {
  const out: CallerId = { format: 'mdmf' };
  let pos = 0;
  while (pos < body.length) {
    if (pos + 2 > body.length) fail(`MDMF parameter at offset ${pos} has no length byte (body is ${body.length} bytes)`);
    const ptype = body[pos] as number;
    const plen = body[pos + 1] as number;
    const value = body.subarray(pos + 2, pos + 2 + plen);
    if (value.length !== plen) fail(`MDMF parameter 0x${ptype.toString(16).padStart(2, '0')} at offset ${pos} claims ${plen} bytes, only ${value.length} left`);
    switch (ptype) {
      case 0x01:
        out.dateTime = readDateTime(value, 'MDMF');
        break;
      case 0x02:
        out.number = readText(value, 'MDMF number', /^[0-9*#+ -]$/);
        break;
      case 0x04:
        out.numberAbsence = readAbsence(value, 'number');
        break;
      case 0x07:
        out.name = readText(value, 'MDMF name', /^[\x20-\x7e]$/);
        break;
      case 0x08:
        out.nameAbsence = readAbsence(value, 'name');
        break;
      default:
        break; // other parameters are not needed for a call offer
    }
    pos += 2 + plen;
  }
  return out;
}

function readDateTime(v: Uint8Array, where: string): CallerIdDateTime {
  if (v.length !== 8) fail(`${where} date/time of ${v.length} bytes, expected 8 digits MMDDHHMM`);
  for (const b of v) if (b < 0x30 || b > 0x39) fail(`${where} date/time byte 0x${b.toString(16)} is not a digit`);
  const n = (i: number): number => ((v[i] as number) - 0x30) * 10 + ((v[i + 1] as number) - 0x30);
  const dt = { month: n(0), day: n(2), hour: n(4), minute: n(6) };
  if (dt.month < 1 || dt.month > 12 || dt.day < 1 || dt.day > 31 || dt.hour > 23 || dt.minute > 59) {
    fail(`${where} date/time ${dt.month}/${dt.day} ${dt.hour}:${dt.minute} is out of range (month 1-12, day 1-31, hour 0-23, minute 0-59)`);
  }
  return dt;
}

function readText(v: Uint8Array, what: string, allowed: RegExp): string {
  if (v.length === 0) fail(`${what} is empty`);
  let s = '';
  for (const b of v) {
    const c = String.fromCharCode(b);
    if (!allowed.test(c)) fail(`${what} byte 0x${b.toString(16).padStart(2, '0')} is not allowed there`);
    s += c;
  }
  return s;
}

function absenceOf(b: number): Absence | undefined {
  if (b === 0x50) return 'private'; // 'P'
  if (b === 0x4f) return 'unavailable'; // 'O': out of area / unavailable
  return undefined;
}

function readAbsence(v: Uint8Array, what: string): Absence {
  const a = v.length === 1 ? absenceOf(v[0] as number) : undefined;
  if (!a) fail(`reason for absence of ${what} must be one byte "O" or "P", got ${v.length} bytes`);
  return a;
}

/**
 * DTMF caller ID from the digits detected on the line (ETSI EN 300 659-1 Annex B, ES 200 778):
 *   A<number>C, B00C (private) / B10C (unavailable), D<redirecting number>… C, and the '#'-terminated
 *   national form A<number>#, D1# (private), D2# / D3# (unavailable), <number># without a code.
 */
export function decodeDtmfCallerId(digits: string): CallerId {
  const m = /^([A-D]?)([0-9]*)([A-D][0-9]*)*?([C#])$/.exec(digits);
  if (!m || digits.length < 2) fail(`DTMF caller ID of ${digits.length} keys does not have the form A…C, B..C, D…C or …#`);
  const code = m[1] ?? '';
  const body = m[2] ?? '';
  const end = m[4];
  if (end === 'C') {
    if (code === 'A' && body.length > 0) return { format: 'dtmf', number: body };
    if (code === 'B' && (body === '00' || body === '10')) return { format: 'dtmf', numberAbsence: body === '00' ? 'private' : 'unavailable' };
    return fail(`DTMF caller ID code ${code || 'none'} with ${body.length} digits is not A<number>C, B00C or B10C`);
  }
  if (code === 'D' && /^[123]$/.test(body)) return { format: 'dtmf', numberAbsence: body === '1' ? 'private' : 'unavailable' };
  if ((code === 'A' || code === '') && body.length > 0) return { format: 'dtmf', number: body };
  return fail(`DTMF caller ID code ${code || 'none'} with ${body.length} digits is not A<number>#, D1#, D2#, D3# or <number>#`);
}
