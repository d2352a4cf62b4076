/**
 * RTCP packets, RFC 3550 §6.4 (SR 200, RR 201), §6.5 (SDES 202), §6.6 (BYE 203), compound packets
 * (§6.1) and the validity checks of Appendix A.2.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   |V=2|P|    RC   |   PT=SR=200   |             length            |  length in 32-bit words - 1
 *   |                         SSRC of sender                        |
 *   |   SR only: NTP timestamp (64) | RTP timestamp | packet count | octet count   |
 *   |   RC report blocks of 24 bytes: SSRC | fraction lost(8) cumulative lost(24) |
 *   |   extended highest sequence | interarrival jitter | LSR | DLSR             |
 *
 * `decodeRtcpCompound` walks every packet of a compound datagram. It throws
 * `TonewallError('ERTCP', …)` naming the bad value when the datagram is structurally broken
 * (version not 2, a length running past the datagram, a report count that does not fit the length,
 * the first packet not SR/RR as A.2 requires, padding on a packet other than the last). Packet
 * types it does not know (APP 204, RTPFB/PSFB, XR) are returned as `{ type: 'other' }`.
 */
import { TonewallError } from '../../hw/base/errors';

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
/** SDES item type CNAME (§6.5.1). */
export const SDES_CNAME = 1;

export interface ReportBlock {
  ssrc: number;
  /** Fraction of packets lost since the previous report, as the 8-bit fixed point value (0-255). */
  fractionLost: number;
  /** Cumulative packets lost, 24-bit signed (§6.4.1: may be negative with duplicates). */
  cumulativeLost: number;
  extendedHighestSeq: number;
  /** Interarrival jitter in RTP timestamp units (§6.4.1, A.8). */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from this source (0: none). */
  lastSr: number;
  /** Delay since that SR, in units of 1/65536 s. */
  delaySinceLastSr: number;
}

export interface SenderInfo {
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

export type RtcpPacket =
  | { type: 'sr'; ssrc: number; sender: SenderInfo; reports: ReportBlock[] }
  | { type: 'rr'; ssrc: number; reports: ReportBlock[] }
  | { type: 'sdes'; chunks: Array<{ ssrc: number; items: Array<{ type: number; text: string }> }> }
  | { type: 'bye'; ssrcs: number[]; reason: string | undefined }
  | { type: 'other'; packetType: number };

function rtcpError(message: string): TonewallError {
  return new TonewallError('ERTCP', message);
}

/** RFC 5761 §4: a datagram on a muxed port is RTCP when its second byte is 192-223. */
export function looksLikeRtcp(buf: Buffer): boolean {
  const pt = buf[1];
  return buf.length >= 8 && pt !== undefined && pt >= 192 && pt <= 223;
}

function readReport(buf: Buffer, o: number): ReportBlock {
  const lostRaw = buf.readUInt32BE(o + 4) & 0xffffff;
  return {
    ssrc: buf.readUInt32BE(o),
    fractionLost: buf.readUInt8(o + 4),
    cumulativeLost: lostRaw & 0x800000 ? lostRaw - 0x1000000 : lostRaw,
    extendedHighestSeq: buf.readUInt32BE(o + 8),
    jitter: buf.readUInt32BE(o + 12),
    lastSr: buf.readUInt32BE(o + 16),
    delaySinceLastSr: buf.readUInt32BE(o + 20),
  };
}

function readReports(body: Buffer, from: number, count: number, what: string): ReportBlock[] {
  if (from + 24 * count > body.length) throw rtcpError(`${what} report count ${count} needs ${from + 24 * count} bytes, packet has ${body.length}`);
  const out: ReportBlock[] = [];
  for (let i = 0; i < count; i++) out.push(readReport(body, from + 24 * i));
  return out;
}

function readSdes(body: Buffer, count: number): RtcpPacket {
  const chunks: Array<{ ssrc: number; items: Array<{ type: number; text: string }> }> = [];
  let o = 4;
  for (let c = 0; c < count; c++) {
    if (o + 4 > body.length) throw rtcpError(`SDES chunk ${c + 1} of ${count} starts at byte ${o}, packet has ${body.length}`);
    const ssrc = body.readUInt32BE(o);
    o += 4;
    const items: Array<{ type: number; text: string }> = [];
    for (;;) {
      if (o >= body.length) throw rtcpError(`SDES chunk for SSRC ${ssrc} has no end-of-items byte`);
      const type = body.readUInt8(o);
      if (type === 0) {
        o = (o + 4) & ~3; // null item, then padding to the next 32-bit boundary (§6.5)
        break;
      }
      const len = body[o + 1];
      if (len === undefined || o + 2 + len > body.length) throw rtcpError(`SDES item type ${type} of length ${len ?? 'missing'} runs past the packet end (${body.length} bytes)`);
      items.push({ type, text: body.toString('utf8', o + 2, o + 2 + len) });
      o += 2 + len;
    }
    chunks.push({ ssrc, items });
  }
  return { type: 'sdes', chunks };
}

function readBye(body: Buffer, count: number): RtcpPacket {
  if (4 + 4 * count > body.length) throw rtcpError(`BYE source count ${count} needs ${4 + 4 * count} bytes, packet has ${body.length}`);
  const ssrcs: number[] = [];
  for (let i = 0; i < count; i++) ssrcs.push(body.readUInt32BE(4 + 4 * i));
  let reason: string | undefined;
  const r = 4 + 4 * count;
  if (r < body.length) {
    const len = body.readUInt8(r);
    if (r + 1 + len > body.length) throw rtcpError(`BYE reason of ${len} bytes runs past the packet end (${body.length} bytes)`);
    reason = body.toString('utf8', r + 1, r + 1 + len);
  }
  return { type: 'bye', ssrcs, reason };
}

function readOne(body: Buffer, packetType: number, count: number): RtcpPacket {
  switch (packetType) {
    case RTCP_SR: {
      if (body.length < 28) throw rtcpError(`SR of ${body.length} bytes is shorter than its 28-byte sender section`);
      const sender: SenderInfo = {
        ntpSeconds: body.readUInt32BE(8),
        ntpFraction: body.readUInt32BE(12),
        rtpTimestamp: body.readUInt32BE(16),
        packetCount: body.readUInt32BE(20),
        octetCount: body.readUInt32BE(24),
      };
      return { type: 'sr', ssrc: body.readUInt32BE(4), sender, reports: readReports(body, 28, count, 'SR') };
    }
    case RTCP_RR:
      if (body.length < 8) throw rtcpError(`RR of ${body.length} bytes is shorter than 8`);
      return { type: 'rr', ssrc: body.readUInt32BE(4), reports: readReports(body, 8, count, 'RR') };
    case RTCP_SDES:
      return readSdes(body, count);
    case RTCP_BYE:
      return readBye(body, count);
    default:
      return { type: 'other', packetType };
  }
}

/** Decodes a compound RTCP datagram (already decrypted when SRTCP is in use). */
export function decodeRtcpCompound(buf: Buffer): RtcpPacket[] {
  if (buf.length < 4) throw rtcpError(`RTCP datagram of ${buf.length} bytes is shorter than the 4-byte header`);
  const out: RtcpPacket[] = [];
  let o = 0;
  while (o < buf.length) {
    if (o + 4 > buf.length) throw rtcpError(`RTCP packet at byte ${o} has ${buf.length - o} bytes, header needs 4`);
    const b0 = buf.readUInt8(o);
    const version = b0 >> 6;
    if (version !== 2) throw rtcpError(`RTCP version ${version} at byte ${o}, expected 2`);
    const packetType = buf.readUInt8(o + 1);
    const bytes = 4 * (buf.readUInt16BE(o + 2) + 1);
    if (o + bytes > buf.length) throw rtcpError(`RTCP packet type ${packetType} at byte ${o} claims ${bytes} bytes, ${buf.length - o} remain`);
    if (o === 0 && packetType !== RTCP_SR && packetType !== RTCP_RR) {
      throw rtcpError(`compound RTCP starts with packet type ${packetType}, expected SR (200) or RR (201) (RFC 3550 A.2)`);
    }
    let body = buf.subarray(o, o + bytes);
    if (b0 & 0x20) {
      if (o + bytes !== buf.length) throw rtcpError(`RTCP padding bit on packet type ${packetType} at byte ${o}, which is not the last`);
      const pad = body.readUInt8(bytes - 1);
      if (pad === 0 || pad > bytes - 4) throw rtcpError(`RTCP padding count ${pad} is not within 1..${bytes - 4}`);
      body = body.subarray(0, bytes - pad);
    }
    out.push(readOne(body, packetType, b0 & 0x1f));
    o += bytes;
  }
  return out;
}

function header(buf: Buffer, count: number, packetType: number): void {
  buf.writeUInt8(0x80 | count, 0);
  buf.writeUInt8(packetType, 1);
  buf.writeUInt16BE(buf.length / 4 - 1, 2);
}

function writeReport(buf: Buffer, o: number, r: ReportBlock): void {
  buf.writeUInt32BE(r.ssrc >>> 0, o);
  const lost = Math.max(-0x800000, Math.min(0x7fffff, r.cumulativeLost)) & 0xffffff;
  buf.writeUInt32BE(((r.fractionLost & 0xff) << 24 | lost) >>> 0, o + 4);
  buf.writeUInt32BE(r.extendedHighestSeq >>> 0, o + 8);
  buf.writeUInt32BE(r.jitter >>> 0, o + 12);
  buf.writeUInt32BE(r.lastSr >>> 0, o + 16);
  buf.writeUInt32BE(r.delaySinceLastSr >>> 0, o + 20);
}

/** SR (with sender info) or RR; at most 31 report blocks. */
export function encodeReport(ssrc: number, sender: SenderInfo | undefined, reports: readonly ReportBlock[]): Buffer {
  if (reports.length > 31) throw rtcpError(`RTCP report count ${reports.length} exceeds 31`);
  const head = sender ? 28 : 8;
  const buf = Buffer.alloc(head + 24 * reports.length);
  header(buf, reports.length, sender ? RTCP_SR : RTCP_RR);
  buf.writeUInt32BE(ssrc >>> 0, 4);
  if (sender) {
    buf.writeUInt32BE(sender.ntpSeconds >>> 0, 8);
    buf.writeUInt32BE(sender.ntpFraction >>> 0, 12);
    buf.writeUInt32BE(sender.rtpTimestamp >>> 0, 16);
    buf.writeUInt32BE(sender.packetCount >>> 0, 20);
    buf.writeUInt32BE(sender.octetCount >>> 0, 24);
  }
  reports.forEach((r, i) => writeReport(buf, head + 24 * i, r));
  return buf;
}

/** SDES with one chunk carrying the CNAME (§6.5.1: required in every compound packet). */
export function encodeSdesCname(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname, 'utf8');
  if (text.length > 255) throw rtcpError(`CNAME of ${text.length} bytes exceeds 255`);
  const chunk = 4 + 2 + text.length + 1;
  const buf = Buffer.alloc(4 + ((chunk + 3) & ~3));
  header(buf, 1, RTCP_SDES);
  buf.writeUInt32BE(ssrc >>> 0, 4);
  buf.writeUInt8(SDES_CNAME, 8);
  buf.writeUInt8(text.length, 9);
  text.copy(buf, 10);
  return buf;
}

export function encodeBye(ssrc: number, reason?: string): Buffer {
  const text = reason !== undefined ? Buffer.from(reason, 'utf8').subarray(0, 255) : undefined;
  const body = 8 + (text ? 1 + text.length : 0);
  const buf = Buffer.alloc((body + 3) & ~3);
  header(buf, 1, RTCP_BYE);
  buf.writeUInt32BE(ssrc >>> 0, 4);
  if (text) {
    buf.writeUInt8(text.length, 8);
    text.copy(buf, 9);
  }
  return buf;
}
