/**
 * RTP fixed header encode/decode, RFC 3550 §5.1 (and §5.3.1 header extension, §5.1 padding).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *   |                           timestamp                           |
 *   |           synchronization source (SSRC) identifier            |
 *   |            contributing source (CSRC) identifiers (CC x 32)   |
 *   [ extension: profile(16) length-in-words(16) data ]  [ payload ] [ padding, last byte = count ]
 *
 * `decodeRtp` validates version 2, CSRC count within the packet, extension length, padding count
 * (non-zero, within the payload) and throws `TonewallError('ERTP', …)` naming the bad value.
 * The payload is a view into the input (no copy).
 */
import { TonewallError } from '../../hw/base/errors';

export const RTP_HEADER_BYTES = 12;

export interface RtpPacket {
  marker: boolean;
  payloadType: number;
  /** 16-bit sequence number. */
  sequence: number;
  /** 32-bit media timestamp in sampling units (8000 Hz for G.711). */
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extension: { profile: number; data: Buffer } | undefined;
  payload: Buffer;
  /** Padding bytes that followed the payload (0 when the P bit was clear). */
  paddingBytes: number;
}

function rtpError(message: string): TonewallError {
  return new TonewallError('ERTP', message);
}

export function decodeRtp(buf: Buffer): RtpPacket {
  if (buf.length < RTP_HEADER_BYTES) throw rtpError(`RTP packet of ${buf.length} bytes is shorter than the 12-byte header`);
  const b0 = buf.readUInt8(0);
  const b1 = buf.readUInt8(1);
  const version = b0 >> 6;
  if (version !== 2) throw rtpError(`RTP version ${version}, expected 2`);
  const padding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  let offset = RTP_HEADER_BYTES + 4 * cc;
  if (offset > buf.length) throw rtpError(`RTP CSRC count ${cc} needs ${offset} bytes, packet has ${buf.length}`);
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(buf.readUInt32BE(RTP_HEADER_BYTES + 4 * i));
  let extension: RtpPacket['extension'];
  if (hasExtension) {
    if (offset + 4 > buf.length) throw rtpError(`RTP extension header at byte ${offset} runs past the packet end (${buf.length} bytes)`);
    const profile = buf.readUInt16BE(offset);
    const words = buf.readUInt16BE(offset + 2);
    const end = offset + 4 + 4 * words;
    if (end > buf.length) throw rtpError(`RTP extension of ${words} words ends at byte ${end}, packet has ${buf.length}`);
    extension = { profile, data: buf.subarray(offset + 4, end) };
    offset = end;
  }
  let paddingBytes = 0;
  if (padding) {
    paddingBytes = buf.readUInt8(buf.length - 1);
    if (paddingBytes === 0 || offset + paddingBytes > buf.length) {
      throw rtpError(`RTP padding count ${paddingBytes} is not within 1..${buf.length - offset}`);
    }
  }
  return {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequence: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    csrcs,
    extension,
    payload: buf.subarray(offset, buf.length - paddingBytes),
    paddingBytes,
  };
}

export interface RtpEncodeInput {
  marker?: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs?: readonly number[];
  extension?: { profile: number; data: Buffer };
  payload: Uint8Array;
  paddingBytes?: number;
}

export function encodeRtp(p: RtpEncodeInput): Buffer {
  const csrcs = p.csrcs ?? [];
  if (csrcs.length > 15) throw rtpError(`RTP CSRC count ${csrcs.length} exceeds 15`);
  if (!Number.isInteger(p.payloadType) || p.payloadType < 0 || p.payloadType > 127) throw rtpError(`RTP payload type ${p.payloadType} is not 0-127`);
  const ext = p.extension;
  if (ext && ext.data.length % 4 !== 0) throw rtpError(`RTP extension data of ${ext.data.length} bytes is not a multiple of 4`);
  const pad = p.paddingBytes ?? 0;
  if (pad < 0 || pad > 255) throw rtpError(`RTP padding ${pad} is not 0-255`);
  const extBytes = ext ? 4 + ext.data.length : 0;
  const buf = Buffer.alloc(RTP_HEADER_BYTES + 4 * csrcs.length + extBytes + p.payload.length + pad);
  buf.writeUInt8(0x80 | (pad > 0 ? 0x20 : 0) | (ext ? 0x10 : 0) | csrcs.length, 0);
  buf.writeUInt8((p.marker ? 0x80 : 0) | p.payloadType, 1);
  buf.writeUInt16BE(p.sequence & 0xffff, 2);
  buf.writeUInt32BE(p.timestamp >>> 0, 4);
  buf.writeUInt32BE(p.ssrc >>> 0, 8);
  let o = RTP_HEADER_BYTES;
  for (const c of csrcs) {
    buf.writeUInt32BE(c >>> 0, o);
    o += 4;
  }
  if (ext) {
    buf.writeUInt16BE(ext.profile & 0xffff, o);
    buf.writeUInt16BE(ext.data.length / 4, o + 2);
    ext.data.copy(buf, o + 4);
    o += extBytes;
  }
  buf.set(p.payload, o);
  if (pad > 0) buf.writeUInt8(pad, buf.length - 1);
  return buf;
}

/** Signed distance a - b between 16-bit sequence numbers (RFC 3550 Appendix A.1 wrap handling). */
export function seqDelta(a: number, b: number): number {
  const d = (a - b) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}
