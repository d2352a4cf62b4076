/**
 * Q.931 message codec (Q.931 §4): protocol discriminator 0x08, call reference (§4.3: length octet,
 * flag bit 8 of the first value octet, value), message type (§4.4), then information elements in
 * codeset 0 with locking (0x9n, n < 8) and non-locking (0x9n, n ≥ 8) shifts (§4.5.2-4.5.3).
 * IEs of other codesets are kept raw with their codeset. Errors throw TonewallError('EQ931', …).
 */
import { TonewallError } from '../../../hw/base/errors';
import { decodeIe, encodeIe, type Q931Ie } from './q931-ie';

export const Q931_PROTOCOL_DISCRIMINATOR = 0x08;

export const MESSAGE_TYPES = {
  ALERTING: 0x01,
  'CALL PROCEEDING': 0x02,
  PROGRESS: 0x03,
  SETUP: 0x05,
  CONNECT: 0x07,
  'SETUP ACKNOWLEDGE': 0x0d,
  'CONNECT ACKNOWLEDGE': 0x0f,
  DISCONNECT: 0x45,
  RESTART: 0x46,
  RELEASE: 0x4d,
  'RESTART ACKNOWLEDGE': 0x4e,
  'RELEASE COMPLETE': 0x5a,
  NOTIFY: 0x6e,
  'STATUS ENQUIRY': 0x75,
  INFORMATION: 0x7b,
  STATUS: 0x7d,
} as const;
export type Q931MessageType = keyof typeof MESSAGE_TYPES;
const TYPE_BY_CODE = new Map<number, Q931MessageType>(Object.entries(MESSAGE_TYPES).map(([k, v]) => [v, k as Q931MessageType]));

export interface CallReference {
  /** Call reference value length in octets (PRI: 2; 0 = dummy call reference). */
  length: number;
  /** Flag (§4.3): false on messages from the side that allocated the reference, true toward it. */
  flag: boolean;
  value: number;
}

export interface Q931Message {
  callRef: CallReference;
  type: Q931MessageType;
  ies: Q931Ie[];
}

function fail(message: string): never {
  throw new TonewallError('EQ931', message);
}

export function encodeQ931(msg: Q931Message): Buffer {
  const { length, flag, value } = msg.callRef;
  if (!Number.isInteger(length) || length < 0 || length > 2) fail(`Q.931 call reference length ${length} is outside 0..2`);
  const maxValue = length === 0 ? 0 : (1 << (8 * length - 1)) - 1;
  if (!Number.isInteger(value) || value < 0 || value > maxValue) fail(`Q.931 call reference value ${value} is outside 0..${maxValue} for length ${length}`);
  const cr: number[] = [];
  for (let i = length - 1; i >= 0; i--) cr.push((value >> (8 * i)) & 0xff);
  if (length > 0) cr[0] = (cr[0] ?? 0) | (flag ? 0x80 : 0);
  const parts: Buffer[] = [Buffer.from([Q931_PROTOCOL_DISCRIMINATOR, length, ...cr, MESSAGE_TYPES[msg.type]])];
  // IEs of other codesets are re-encoded each behind a non-locking shift (§4.5.3), so any order of
  // codesets round-trips and codeset 0 is never left for good.
  for (const ie of msg.ies) {
    if (ie.id === 'raw' && ie.codeset !== 0) {
      if (!Number.isInteger(ie.codeset) || ie.codeset < 1 || ie.codeset > 7) fail(`Q.931 codeset ${ie.codeset} is outside 0..7`);
      parts.push(Buffer.from([0x98 | ie.codeset]));
    }
    parts.push(encodeIe(ie));
  }
  return Buffer.concat(parts);
}

export function decodeQ931(bytes: Uint8Array): Q931Message {
  const b = Buffer.from(bytes);
  if (b.length < 3) fail(`Q.931 message of ${b.length} octets is shorter than the minimum of 3`);
  if (b[0] !== Q931_PROTOCOL_DISCRIMINATOR) fail(`Q.931 protocol discriminator 0x${hex(b[0] ?? 0)} is not 0x08`);
  const o2 = b[1] ?? 0;
  if ((o2 & 0xf0) !== 0) fail(`Q.931 call reference length octet 0x${hex(o2)} has non-zero spare bits`);
  const length = o2 & 0x0f;
  if (length > 2) fail(`Q.931 call reference length ${length} exceeds 2 (primary rate)`);
  if (b.length < 3 + length) fail(`Q.931 message of ${b.length} octets ends inside the ${length}-octet call reference`);
  let value = 0;
  for (let i = 0; i < length; i++) value = (value << 8) | (b[2 + i] ?? 0);
  const flag = length > 0 && (value & (0x80 << (8 * (length - 1)))) !== 0;
  if (length > 0) value &= (1 << (8 * length - 1)) - 1;
  const mt = b[2 + length] ?? 0;
  if ((mt & 0x80) !== 0) fail(`Q.931 message type octet 0x${hex(mt)} has bit 8 set; escape to national message types is not supported`);
  const type = TYPE_BY_CODE.get(mt);
  if (!type) fail(`Q.931 message type 0x${hex(mt)} is not one of the supported basic call messages`);
  return { callRef: { length, flag, value }, type, ies: decodeIes(b, 3 + length, type) };
}

function decodeIes(b: Buffer<ArrayBufferLike>, start: number, type: Q931MessageType): Q931Ie[] {
  const ies: Q931Ie[] = [];
  let locked = 0;
  let once: number | undefined;
  let i = start;
  while (i < b.length) {
    const id = b[i] ?? 0;
    const codeset = once ?? locked;
    once = undefined;
    if ((id & 0x80) !== 0) {
      if ((id & 0xf0) === 0x90) {
        const target = id & 0x07;
        if ((id & 0x08) !== 0) once = target;
        else if (target < locked) fail(`Q.931 ${type}: locking shift to codeset ${target} at octet ${i} goes back from codeset ${locked}`);
        else locked = target;
      } else if (id === 0xa1 && codeset === 0) {
        ies.push({ id: 'sending-complete' });
      } else {
        ies.push({ id: 'raw', codeset, ie: id, contents: Buffer.alloc(0) });
      }
      i++;
      continue;
    }
    if (i + 1 >= b.length) fail(`Q.931 ${type}: IE 0x${hex(id)} at octet ${i} has no length octet`);
    const len = b[i + 1] ?? 0;
    if (i + 2 + len > b.length) fail(`Q.931 ${type}: IE 0x${hex(id)} at octet ${i} claims ${len} content octets; only ${b.length - i - 2} remain`);
    const contents = b.subarray(i + 2, i + 2 + len);
    if (codeset === 0) {
      try {
        ies.push(decodeIe(id, contents));
      } catch (err) {
        if (err instanceof TonewallError) fail(`Q.931 ${type}: ${err.message}`);
        throw err;
      }
    } else {
      ies.push({ id: 'raw', codeset, ie: id, contents: Buffer.from(contents) });
    }
    i += 2 + len;
  }
  return ies;
}

/** The first IE of a kind, typed. */
export function findIe<K extends Q931Ie['id']>(msg: Q931Message, id: K): (Q931Ie & { id: K }) | undefined {
  return msg.ies.find((ie): ie is Q931Ie & { id: K } => ie.id === id);
}

/** One line for logs: `SETUP cr=1/0 [bearer-capability, channel-id, called-number]` (no digits). */
export function describeQ931(msg: Q931Message): string {
  return `${msg.type} cr=${msg.callRef.value}/${msg.callRef.flag ? 1 : 0} [${msg.ies.map((ie) => (ie.id === 'raw' ? `raw:${ie.codeset}:0x${hex(ie.ie)}` : ie.id)).join(', ')}]`;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
