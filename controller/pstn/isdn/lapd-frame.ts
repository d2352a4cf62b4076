/**
 * Q.921 (LAPD) frame codec: address, control and information fields of one D-channel frame, as the
 * card link carries it (no HDLC flags, no FCS: docs/card-link.md §4.7).
 *
 *   octet 1: SAPI (6 bits) | C/R | EA=0        Q.921 §3.3.3
 *   octet 2: TEI  (7 bits)       | EA=1
 *   I:  N(S)<<1|0,  N(R)<<1|P                  Q.921 §3.4 (modulo 128, two control octets)
 *   S:  0000SS01,   N(R)<<1|P/F               RR 0x01, RNR 0x05, REJ 0x09
 *   U:  MMMPMM11                               SABME 0x6F, DM 0x0F, UI 0x03, DISC 0x43, UA 0x63, FRMR 0x87, XID 0xAF
 *
 * Pure functions; a malformed frame throws TonewallError('ELAPD', …) naming the bad octet.
 */
import { TonewallError } from '../../../hw/base/errors';

/** Q.921 §5.9.3: maximum number of octets in an information field (N201) for SAPI 0. */
export const LAPD_N201 = 260;
/** Sequence numbers are modulo 128 (Q.921 §3.5.2). */
export const LAPD_MODULUS = 128;

export type SFrameKind = 'RR' | 'RNR' | 'REJ';
export type UFrameKind = 'SABME' | 'DM' | 'UI' | 'DISC' | 'UA' | 'FRMR' | 'XID';

export type LapdControl =
  | { format: 'I'; ns: number; nr: number; p: boolean }
  | { format: 'S'; kind: SFrameKind; nr: number; pf: boolean }
  | { format: 'U'; kind: UFrameKind; pf: boolean };

export interface LapdFrame {
  /** Service access point identifier, 0..63 (0 = call control, 63 = layer 2 management). */
  sapi: number;
  /** The raw C/R bit (Q.921 Table 1: commands from the network and responses from the user carry 1). */
  cr: 0 | 1;
  /** Terminal endpoint identifier, 0..127 (0 for point-to-point PRI, 127 = group). */
  tei: number;
  control: LapdControl;
  /** Information field (I, UI, FRMR, XID only); empty otherwise. */
  info: Buffer;
}

const S_CODES: Record<SFrameKind, number> = { RR: 0x01, RNR: 0x05, REJ: 0x09 };
const U_CODES: Record<UFrameKind, number> = { SABME: 0x6f, DM: 0x0f, UI: 0x03, DISC: 0x43, UA: 0x63, FRMR: 0x87, XID: 0xaf };
const U_BY_CODE = new Map<number, UFrameKind>(Object.entries(U_CODES).map(([k, v]) => [v, k as UFrameKind]));
const S_BY_CODE = new Map<number, SFrameKind>(Object.entries(S_CODES).map(([k, v]) => [v, k as SFrameKind]));
/** U frames that may carry an information field (Q.921 §3.6). */
const U_WITH_INFO = new Set<UFrameKind>(['UI', 'FRMR', 'XID']);

function fail(message: string): never {
  throw new TonewallError('ELAPD', message);
}

function checkRange(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) fail(`LAPD ${name} ${value} is outside 0..${max}`);
}

export function encodeLapdFrame(frame: LapdFrame): Buffer {
  checkRange('SAPI', frame.sapi, 63);
  checkRange('TEI', frame.tei, 127);
  const c = frame.control;
  let control: number[];
  switch (c.format) {
    case 'I':
      checkRange('N(S)', c.ns, 127);
      checkRange('N(R)', c.nr, 127);
      control = [c.ns << 1, (c.nr << 1) | (c.p ? 1 : 0)];
      break;
    case 'S':
      checkRange('N(R)', c.nr, 127);
      control = [S_CODES[c.kind], (c.nr << 1) | (c.pf ? 1 : 0)];
      break;
    case 'U':
      control = [U_CODES[c.kind] | (c.pf ? 0x10 : 0)];
      break;
  }
  const mayCarryInfo = c.format === 'I' || (c.format === 'U' && U_WITH_INFO.has(c.kind));
  if (frame.info.length > 0 && !mayCarryInfo) fail(`LAPD ${c.format === 'S' ? c.kind : c.format === 'U' ? c.kind : 'I'} frame carries ${frame.info.length} information octets; it must carry none`);
  if (frame.info.length > LAPD_N201) fail(`LAPD information field of ${frame.info.length} octets exceeds N201 = ${LAPD_N201}`);
  return Buffer.concat([Buffer.from([(frame.sapi << 2) | (frame.cr << 1), (frame.tei << 1) | 1, ...control]), frame.info]);
}

export function decodeLapdFrame(bytes: Uint8Array): LapdFrame {
  if (bytes.length < 3) fail(`LAPD frame of ${bytes.length} octets is shorter than the minimum of 3 (address + control)`);
  const a0 = bytes[0] ?? 0;
  const a1 = bytes[1] ?? 0;
  const c0 = bytes[2] ?? 0;
  if ((a0 & 1) !== 0) fail(`LAPD address octet 1 0x${hex(a0)} has EA=1; a two-octet address (EA=0) was expected`);
  if ((a1 & 1) !== 1) fail(`LAPD address octet 2 0x${hex(a1)} has EA=0; EA=1 was expected`);
  const sapi = a0 >> 2;
  const cr = ((a0 >> 1) & 1) as 0 | 1;
  const tei = a1 >> 1;
  if ((c0 & 1) === 0 || (c0 & 3) === 1) {
    if (bytes.length < 4) fail(`LAPD ${(c0 & 1) === 0 ? 'I' : 'S'} frame of ${bytes.length} octets is shorter than 4 (two control octets)`);
    const c1 = bytes[3] ?? 0;
    const info = Buffer.from(bytes.subarray(4));
    if ((c0 & 1) === 0) {
      if (info.length > LAPD_N201) fail(`LAPD I frame information field of ${info.length} octets exceeds N201 = ${LAPD_N201}`);
      return { sapi, cr, tei, control: { format: 'I', ns: c0 >> 1, nr: c1 >> 1, p: (c1 & 1) === 1 }, info };
    }
    const kind = S_BY_CODE.get(c0);
    if (!kind) fail(`LAPD S frame control octet 0x${hex(c0)} is not RR (0x01), RNR (0x05) or REJ (0x09)`);
    if (info.length > 0) fail(`LAPD ${kind} frame carries ${info.length} information octets; it must carry none`);
    return { sapi, cr, tei, control: { format: 'S', kind, nr: c1 >> 1, pf: (c1 & 1) === 1 }, info };
  }
  const kind = U_BY_CODE.get(c0 & ~0x10);
  if (!kind) fail(`LAPD U frame control octet 0x${hex(c0)} is not SABME, DM, UI, DISC, UA, FRMR or XID`);
  const info = Buffer.from(bytes.subarray(3));
  if (info.length > 0 && !U_WITH_INFO.has(kind)) fail(`LAPD ${kind} frame carries ${info.length} information octets; it must carry none`);
  if (info.length > LAPD_N201) fail(`LAPD ${kind} information field of ${info.length} octets exceeds N201 = ${LAPD_N201}`);
  return { sapi, cr, tei, control: { format: 'U', kind, pf: (c0 & 0x10) !== 0 }, info };
}

/** A one-line summary for logs: `SABME P sapi=0 tei=0 cr=1`. Never includes the information field. */
export function describeLapdFrame(frame: LapdFrame): string {
  const c = frame.control;
  const head =
    c.format === 'I'
      ? `I ns=${c.ns} nr=${c.nr}${c.p ? ' P' : ''}`
      : c.format === 'S'
        ? `${c.kind} nr=${c.nr}${c.pf ? ' P/F' : ''}`
        : `${c.kind}${c.pf ? ' P/F' : ''}`;
  return `${head} sapi=${frame.sapi} tei=${frame.tei} cr=${frame.cr} info=${frame.info.length}`;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
