/**
 * Frames of the card link (docs/card-link.md §2), pure and I/O-free, shared by the driver
 * (hw/card) and the simulator (hw/sim).
 *
 *   offset  size  field
 *   0       2     sync 0xA5 0x5A
 *   2       1     type (MessageCode)
 *   3       2     seq, u16 LE, per direction, restarts at 0 with a hello
 *   5       2     payload length, u16 LE, 0..4096
 *   7       1     header check: CRC-8/SMBUS over bytes 2..6
 *   8       n     payload
 *   8+n     4     CRC-32C, u32 LE, over bytes 2..8+n-1 (header after sync, and payload)
 *
 * The decoder hunts for the sync pair, believes a length only when the header check matches, and
 * after any failure steps one byte past the failed sync and hunts again inside what it already has,
 * so a garbage run, a truncated frame or a corrupted frame costs only itself.
 */
import { TonewallError } from '../base/errors';
import { LinkPayloadError } from './byte-io';
import { crc32c, crc8 } from './crc';
import { MAX_PAYLOAD_BYTES, MessageCode, type LinkMessage, type MessageType } from './messages';
import { decodePayload, encodePayload } from './payload-codec';
import { SEQ_MODULO, SequenceTracker } from './sequence-tracker';

export const SYNC_0 = 0xa5;
export const SYNC_1 = 0x5a;
export const HEADER_BYTES = 8;
export const TRAILER_BYTES = 4;
export const MAX_FRAME_BYTES = HEADER_BYTES + MAX_PAYLOAD_BYTES + TRAILER_BYTES;

const TYPE_BY_CODE = new Map<number, MessageType>(Object.entries(MessageCode).map(([t, c]) => [c, t as MessageType]));

export interface DecodedFrame {
  seq: number;
  message: LinkMessage;
}

/** Why a stretch of bytes did not become a frame. `crc`/`header` frames are not trusted at all; `malformed` ones had a good CRC. */
export interface FrameError {
  kind: 'header' | 'crc' | 'malformed';
  reason: string;
  /** Type code and sequence number, for malformed frames (their CRC was good). */
  typeCode?: number;
  seq?: number;
}

export interface DecoderStats {
  bytesIn: number;
  frames: number;
  /** Frames whose CRC-32C did not match. */
  crcErrors: number;
  /** Sync pairs whose header check failed or whose length exceeded the maximum (false syncs or corrupted headers). */
  headerErrors: number;
  /** Bytes that were not part of any frame with a good CRC. */
  resyncBytesSkipped: number;
  /** Good-CRC frames with an unknown type or a payload that does not fit the type. */
  malformedFrames: number;
  /** Gaps in the peer's sequence numbers (SequenceTracker). */
  framesLost: number;
  /** Backward sequence steps without a hello. */
  seqRestarts: number;
}

/** Encodes one frame. Throws TonewallError LINK_ENCODE naming the field or limit the message breaks. */
export function encodeFrame(msg: LinkMessage, seq: number): Buffer {
  if (!Number.isInteger(seq) || seq < 0 || seq >= SEQ_MODULO) {
    throw new TonewallError('LINK_ENCODE', `frame seq ${seq} out of range, expected integer 0..65535`);
  }
  let payload: Buffer;
  try {
    payload = encodePayload(msg);
  } catch (err) {
    if (err instanceof LinkPayloadError) throw new TonewallError('LINK_ENCODE', `cannot encode ${msg.type}: ${err.message}`);
    throw err;
  }
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new TonewallError('LINK_ENCODE', `${msg.type} frame length ${payload.length} exceeds ${MAX_PAYLOAD_BYTES}`);
  }
  const frame = Buffer.alloc(HEADER_BYTES + payload.length + TRAILER_BYTES);
  frame[0] = SYNC_0;
  frame[1] = SYNC_1;
  frame[2] = MessageCode[msg.type];
  frame.writeUInt16LE(seq, 3);
  frame.writeUInt16LE(payload.length, 5);
  frame[7] = crc8(frame, 2, 7);
  payload.copy(frame, HEADER_BYTES);
  frame.writeUInt32LE(crc32c(frame, 2, HEADER_BYTES + payload.length), HEADER_BYTES + payload.length);
  return frame;
}

/** Numbers outgoing frames of one direction: 0, 1, 2 … wrapping at 2^16; a hello restarts at 0. */
export class FrameEncoder {
  private nextSeq = 0;
  framesOut = 0;
  bytesOut = 0;

  encode(msg: LinkMessage): Buffer {
    if (msg.type === 'card-hello' || msg.type === 'host-hello') this.nextSeq = 0;
    const frame = encodeFrame(msg, this.nextSeq);
    this.nextSeq = (this.nextSeq + 1) % SEQ_MODULO;
    this.framesOut++;
    this.bytesOut += frame.length;
    return frame;
  }
}

export interface FrameDecoderOptions {
  /** Called for every stretch that did not become a frame, in stream order. */
  onError?: (err: FrameError) => void;
}

export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private readonly tracker = new SequenceTracker();
  private readonly onError: ((err: FrameError) => void) | undefined;
  private readonly counts = { bytesIn: 0, frames: 0, crcErrors: 0, headerErrors: 0, resyncBytesSkipped: 0, malformedFrames: 0 };

  constructor(options: FrameDecoderOptions = {}) {
    this.onError = options.onError;
  }

  get stats(): DecoderStats {
    return { ...this.counts, framesLost: this.tracker.framesLost, seqRestarts: this.tracker.restarts };
  }

  /** Bytes held while waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  /** Drop buffered bytes and the sequence state (the stream was reopened). Counters are kept. */
  reset(): void {
    this.pending = Buffer.alloc(0);
    this.tracker.reset();
  }

  /** Feeds bytes; returns the frames completed by them, in order. Never throws on any input. */
  push(chunk: Uint8Array): DecodedFrame[] {
    this.counts.bytesIn += chunk.length;
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: DecodedFrame[] = [];
    let off = 0;
    for (;;) {
      const sync = findSync(buf, off);
      if (sync < 0) {
        // Keep a trailing first sync byte: its partner may be in the next chunk.
        const keep = buf.length > off && buf[buf.length - 1] === SYNC_0 ? 1 : 0;
        this.counts.resyncBytesSkipped += buf.length - off - keep;
        off = buf.length - keep;
        break;
      }
      this.counts.resyncBytesSkipped += sync - off;
      off = sync;
      if (buf.length - off < HEADER_BYTES) break;
      const len = buf.readUInt16LE(off + 5);
      if (buf[off + 7] !== crc8(buf, off + 2, off + 7) || len > MAX_PAYLOAD_BYTES) {
        const reason = len > MAX_PAYLOAD_BYTES && buf[off + 7] === crc8(buf, off + 2, off + 7) ? `frame length ${len} exceeds ${MAX_PAYLOAD_BYTES}` : 'frame header check mismatch';
        this.counts.headerErrors++;
        this.skipOne(off, 'header', reason);
        off++;
        continue;
      }
      const end = off + HEADER_BYTES + len;
      if (buf.length < end + TRAILER_BYTES) break;
      const want = buf.readUInt32LE(end);
      const got = crc32c(buf, off + 2, end);
      if (want !== got) {
        this.counts.crcErrors++;
        this.skipOne(off, 'crc', `frame CRC-32C 0x${got.toString(16).padStart(8, '0')} does not match 0x${want.toString(16).padStart(8, '0')}`);
        off++;
        continue;
      }
      this.acceptFrame(buf, off, len, out);
      off = end + TRAILER_BYTES;
    }
    this.pending = off >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
    return out;
  }

  private skipOne(_off: number, kind: 'header' | 'crc', reason: string): void {
    this.counts.resyncBytesSkipped++;
    this.onError?.({ kind, reason });
  }

  private acceptFrame(buf: Buffer, off: number, len: number, out: DecodedFrame[]): void {
    const code = buf[off + 2] ?? 0;
    const seq = buf.readUInt16LE(off + 3);
    const type = TYPE_BY_CODE.get(code);
    if (type === 'card-hello' || type === 'host-hello') this.tracker.reset();
    this.tracker.observe(seq);
    if (type === undefined) {
      this.malformed(code, seq, `frame type 0x${code.toString(16).padStart(2, '0')} unknown`);
      return;
    }
    try {
      out.push({ seq, message: decodePayload(type, buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len)) });
      this.counts.frames++;
    } catch (err) {
      this.malformed(code, seq, err instanceof Error ? err.message : 'payload rejected');
    }
  }

  private malformed(typeCode: number, seq: number, reason: string): void {
    this.counts.malformedFrames++;
    this.onError?.({ kind: 'malformed', reason, typeCode, seq });
  }
}

function findSync(buf: Buffer, from: number): number {
  let i = buf.indexOf(SYNC_0, from);
  while (i >= 0 && i + 1 < buf.length) {
    if (buf[i + 1] === SYNC_1) return i;
    i = buf.indexOf(SYNC_0, i + 1);
  }
  return -1;
}
