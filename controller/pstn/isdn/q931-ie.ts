/**
 * Q.931 information elements (Q.931 §4.5) used for basic PRI calls, codeset 0:
 *   0x04 bearer capability §4.5.5      0x08 cause §4.5.12 (Q.850)     0x14 call state §4.5.7
 *   0x18 channel identification §4.5.13 (PRI form: interface type bit = 1)
 *   0x1E progress indicator §4.5.23    0x28 display §4.5.16           0x6C calling party number §4.5.10
 *   0x70 called party number §4.5.8    0x79 restart indicator §4.5.25 0xA1 sending complete (single octet)
 * Anything else (other codesets after a shift, unknown identifiers) is kept as `raw` and re-encoded as is.
 * Decoders throw TonewallError('EQ931_IE', …) naming the IE and the octet at fault.
 */
import { TonewallError } from '../../../hw/base/errors';

export interface BearerCapabilityIe {
  id: 'bearer-capability';
  /** Information transfer capability: 0 speech, 8 unrestricted digital, 16 3.1 kHz audio. */
  capability: number;
  /** Transfer mode and rate octet 4 (0x90 = circuit mode, 64 kbit/s). */
  modeRate: number;
  /** User information layer 1 protocol: 2 G.711 µ-law, 3 G.711 A-law; undefined when absent. */
  layer1?: number;
}
export interface ChannelIdIe {
  id: 'channel-id';
  /** false = preferred, true = exclusive (octet 3 bit 4). */
  exclusive: boolean;
  /** 'indicated' carries channel numbers; 'any' and 'none' carry none (octet 3 bits 2-1). */
  selection: 'none' | 'indicated' | 'any';
  /** B-channel numbers (E1: 1..31 except 16; T1: 1..23/24). */
  channels: number[];
  dChannel: boolean;
}
export interface PartyNumberIe {
  id: 'calling-number' | 'called-number';
  /** Type of number (0 unknown, 1 international, 2 national, 3 network specific, 4 subscriber). */
  typeOfNumber: number;
  /** Numbering plan (0 unknown, 1 ISDN/E.164, 9 private). */
  numberingPlan: number;
  /** Calling only: presentation (0 allowed, 1 restricted, 2 not available) and screening (0..3). */
  presentation?: number;
  screening?: number;
  digits: string;
}
export interface ProgressIe {
  id: 'progress';
  location: number;
  /** 1 not end-to-end ISDN, 2 destination non-ISDN, 3 origin non-ISDN, 8 in-band information available. */
  description: number;
}
export interface CauseIe {
  id: 'cause';
  /** 0 user, 1 private local, 2 public local, 3 transit, 4 public remote, 5 private remote. */
  location: number;
  /** Q.850 cause value 0..127. */
  value: number;
  diagnostics: Buffer;
}
export interface CallStateIe {
  id: 'call-state';
  /** U/N state number 0..63. */
  value: number;
}
export interface DisplayIe {
  id: 'display';
  text: string;
}
export interface RestartIndicatorIe {
  id: 'restart-indicator';
  /** 0 indicated channels, 6 single interface, 7 all interfaces. */
  restartClass: number;
}
export interface SendingCompleteIe {
  id: 'sending-complete';
}
export interface RawIe {
  id: 'raw';
  codeset: number;
  /** The identifier octet; single-octet IEs have bit 8 set and no contents. */
  ie: number;
  contents: Buffer;
}

export type Q931Ie = BearerCapabilityIe | ChannelIdIe | PartyNumberIe | ProgressIe | CauseIe | CallStateIe | DisplayIe | RestartIndicatorIe | SendingCompleteIe | RawIe;

export const IE_CODES = {
  'bearer-capability': 0x04,
  cause: 0x08,
  'call-state': 0x14,
  'channel-id': 0x18,
  progress: 0x1e,
  display: 0x28,
  'calling-number': 0x6c,
  'called-number': 0x70,
  'restart-indicator': 0x79,
} as const;

function fail(message: string): never {
  throw new TonewallError('EQ931_IE', message);
}

function need(name: string, c: Buffer, n: number): void {
  if (c.length < n) fail(`Q.931 ${name} IE has ${c.length} content octets; at least ${n} expected`);
}

/** Printable IA5 only: digits and display text are never taken on trust. */
function ia5(name: string, bytes: Buffer): string {
  for (const b of bytes) if (b < 0x20 || b > 0x7e) fail(`Q.931 ${name} IE octet 0x${b.toString(16).padStart(2, '0')} is not a printable IA5 character`);
  return bytes.toString('latin1');
}

/** Decodes the contents of one codeset-0 variable-length IE with identifier `ie`. */
export function decodeIe(ie: number, c: Buffer): Q931Ie {
  switch (ie) {
    case IE_CODES['bearer-capability']: {
      need('bearer capability', c, 2);
      const o3 = c[0] ?? 0;
      const o4 = c[1] ?? 0;
      if ((o3 & 0x80) === 0) fail(`Q.931 bearer capability octet 3 0x${o3.toString(16)} has extension bit 0; octet 3a is not supported`);
      const o5 = c[2];
      const layer1 = o5 !== undefined && (o5 & 0x60) === 0x20 ? o5 & 0x1f : undefined;
      return layer1 === undefined ? { id: 'bearer-capability', capability: o3 & 0x1f, modeRate: o4 } : { id: 'bearer-capability', capability: o3 & 0x1f, modeRate: o4, layer1 };
    }
    case IE_CODES.cause: {
      need('cause', c, 2);
      const o3 = c[0] ?? 0;
      const at = (o3 & 0x80) === 0 ? 2 : 1;
      need('cause', c, at + 1);
      return { id: 'cause', location: o3 & 0x0f, value: (c[at] ?? 0) & 0x7f, diagnostics: Buffer.from(c.subarray(at + 1)) };
    }
    case IE_CODES['call-state']:
      need('call state', c, 1);
      return { id: 'call-state', value: (c[0] ?? 0) & 0x3f };
    case IE_CODES['channel-id']:
      return decodeChannelId(c);
    case IE_CODES.progress:
      need('progress indicator', c, 2);
      return { id: 'progress', location: (c[0] ?? 0) & 0x0f, description: (c[1] ?? 0) & 0x7f };
    case IE_CODES.display: {
      // NI-2/ANSI T1.607 may put a display-type octet (bit 8 set) before the text.
      const text = c.length > 0 && ((c[0] ?? 0) & 0x80) !== 0 ? c.subarray(1) : c;
      return { id: 'display', text: ia5('display', text) };
    }
    case IE_CODES['calling-number']:
    case IE_CODES['called-number']:
      return decodeNumber(ie === IE_CODES['calling-number'] ? 'calling-number' : 'called-number', c);
    case IE_CODES['restart-indicator']:
      need('restart indicator', c, 1);
      return { id: 'restart-indicator', restartClass: (c[0] ?? 0) & 0x07 };
    default:
      return { id: 'raw', codeset: 0, ie, contents: Buffer.from(c) };
  }
}

function decodeNumber(id: 'calling-number' | 'called-number', c: Buffer): PartyNumberIe {
  const name = id === 'calling-number' ? 'calling party number' : 'called party number';
  need(name, c, 1);
  const o3 = c[0] ?? 0;
  const base = { id, typeOfNumber: (o3 >> 4) & 0x07, numberingPlan: o3 & 0x0f };
  if ((o3 & 0x80) !== 0) return { ...base, digits: ia5(name, c.subarray(1)) };
  if (id === 'called-number') fail(`Q.931 called party number octet 3 0x${o3.toString(16)} has extension bit 0; the called number has no octet 3a`);
  need(name, c, 2);
  const o3a = c[1] ?? 0;
  return { ...base, presentation: (o3a >> 5) & 0x03, screening: o3a & 0x03, digits: ia5(name, c.subarray(2)) };
}

function decodeChannelId(c: Buffer): ChannelIdIe {
  need('channel identification', c, 1);
  const o3 = c[0] ?? 0;
  if ((o3 & 0x40) !== 0) fail(`Q.931 channel identification octet 3 0x${o3.toString(16)} names an explicit interface; only the implicit interface is supported`);
  if ((o3 & 0x20) === 0) fail(`Q.931 channel identification octet 3 0x${o3.toString(16)} is for a basic interface; a primary rate interface (bit 6 = 1) was expected`);
  const sel = o3 & 0x03;
  const selection: ChannelIdIe['selection'] = sel === 0 ? 'none' : sel === 1 ? 'indicated' : sel === 3 ? 'any' : fail(`Q.931 channel identification selection ${sel} is reserved on a PRI`);
  const base = { id: 'channel-id' as const, exclusive: (o3 & 0x08) !== 0, selection, dChannel: (o3 & 0x04) !== 0 };
  if (selection !== 'indicated') return { ...base, channels: [] };
  need('channel identification', c, 3);
  const o32 = c[1] ?? 0;
  if ((o32 & 0x10) !== 0) fail(`Q.931 channel identification octet 3.2 0x${o32.toString(16)} uses a slot map; channel numbers were expected`);
  if ((o32 & 0x0f) !== 3) fail(`Q.931 channel identification channel type ${o32 & 0x0f} is not B-channel units (3)`);
  const channels: number[] = [];
  for (let i = 2; i < c.length; i++) {
    const b = c[i] ?? 0;
    const n = b & 0x7f;
    if (n < 1 || n > 31) fail(`Q.931 channel identification channel number ${n} is outside 1..31`);
    channels.push(n);
    if ((b & 0x80) !== 0) {
      if (i !== c.length - 1) fail(`Q.931 channel identification has ${c.length - i - 1} octets after the last channel number`);
      return { ...base, channels };
    }
  }
  fail('Q.931 channel identification channel list does not end with an octet whose extension bit is 1');
}

/** Encodes one IE (identifier, length, contents); single-octet IEs are one octet. */
export function encodeIe(ie: Q931Ie): Buffer {
  if (ie.id === 'sending-complete') return Buffer.from([0xa1]);
  if (ie.id === 'raw') {
    if ((ie.ie & 0x80) !== 0) return Buffer.from([ie.ie]);
    return withHeader(ie.ie, ie.contents);
  }
  return withHeader(IE_CODES[ie.id], encodeContents(ie));
}

function withHeader(code: number, contents: Buffer): Buffer {
  if (contents.length > 255) fail(`Q.931 IE 0x${code.toString(16)} contents of ${contents.length} octets exceed 255`);
  return Buffer.concat([Buffer.from([code, contents.length]), contents]);
}

function digitsOf(name: string, s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  ia5(name, b);
  return b;
}

function encodeContents(ie: Exclude<Q931Ie, RawIe | SendingCompleteIe>): Buffer {
  switch (ie.id) {
    case 'bearer-capability': {
      const octets = [0x80 | (ie.capability & 0x1f), ie.modeRate & 0xff];
      if (ie.layer1 !== undefined) octets.push(0xa0 | (ie.layer1 & 0x1f));
      return Buffer.from(octets);
    }
    case 'cause':
      return Buffer.concat([Buffer.from([0x80 | (ie.location & 0x0f), 0x80 | (ie.value & 0x7f)]), ie.diagnostics]);
    case 'call-state':
      return Buffer.from([ie.value & 0x3f]);
    case 'channel-id': {
      const sel = ie.selection === 'none' ? 0 : ie.selection === 'indicated' ? 1 : 3;
      const o3 = 0x80 | 0x20 | (ie.exclusive ? 0x08 : 0) | (ie.dChannel ? 0x04 : 0) | sel;
      if (ie.selection !== 'indicated') return Buffer.from([o3]);
      if (ie.channels.length === 0) fail('Q.931 channel identification with selection "indicated" needs at least one channel');
      const nums = ie.channels.map((n, i) => {
        if (!Number.isInteger(n) || n < 1 || n > 31) fail(`Q.931 channel identification channel ${n} is outside 1..31`);
        return (i === ie.channels.length - 1 ? 0x80 : 0) | n;
      });
      return Buffer.from([o3, 0x83, ...nums]);
    }
    case 'progress':
      return Buffer.from([0x80 | (ie.location & 0x0f), 0x80 | (ie.description & 0x7f)]);
    case 'display':
      return digitsOf('display', ie.text);
    case 'calling-number':
    case 'called-number': {
      const o3 = ((ie.typeOfNumber & 0x07) << 4) | (ie.numberingPlan & 0x0f);
      const name = ie.id === 'calling-number' ? 'calling party number' : 'called party number';
      if (ie.id === 'calling-number' && ie.presentation !== undefined) {
        return Buffer.concat([Buffer.from([o3, 0x80 | ((ie.presentation & 0x03) << 5) | ((ie.screening ?? 0) & 0x03)]), digitsOf(name, ie.digits)]);
      }
      return Buffer.concat([Buffer.from([0x80 | o3]), digitsOf(name, ie.digits)]);
    }
    case 'restart-indicator':
      return Buffer.from([0x80 | (ie.restartClass & 0x07)]);
  }
}
