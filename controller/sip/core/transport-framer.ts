/**
 * Message framing on stream transports (TCP, TLS), RFC 3261 §18.3: a message is its header block up
 * to the first empty line plus exactly Content-Length body bytes (Content-Length is mandatory on
 * streams, §20.14). Between messages the peer may send the RFC 5626 §4.4.1 keepalives: a double
 * CRLF "ping" (answered with a single CRLF "pong") and the single CRLF "pong" itself.
 *
 * Pure: `push(bytes)` returns what the bytes completed, in order. A framing error (a header block
 * over `maxMessageBytes`, a missing or bad Content-Length) is fatal for the connection: the stream
 * cannot be resynchronised, so the caller closes it.
 */
import { TonewallError } from '../../../hw/base/errors';

export type StreamFrame = { kind: 'message'; data: Buffer } | { kind: 'ping' } | { kind: 'pong' };

/** Largest header block + body accepted on a stream (the same bound as a datagram). */
export const MAX_STREAM_MESSAGE_BYTES = 65535;

const CRLF2 = Buffer.from('\r\n\r\n', 'latin1');

/** Bytes were skipped (stray CR/LF): look again (a loop, not recursion, so a run of them cannot overflow the stack). */
const AGAIN = Symbol('again');

/** The Content-Length of a header block (long or compact `l` name, §7.3.3), or an error naming the value. */
function contentLength(headerText: string): number {
  let found: number | undefined;
  for (const line of headerText.split('\r\n').slice(1)) {
    const m = /^(content-length|l)[ \t]*:[ \t]*(.*)$/i.exec(line);
    if (!m) continue;
    const value = (m[2] ?? '').trim();
    if (!/^[0-9]{1,10}$/.test(value)) throw new TonewallError('ESIPFRAME', `Content-Length "${value.slice(0, 40)}" on a stream is not a decimal number`);
    found = Number(value);
  }
  if (found === undefined) throw new TonewallError('ESIPFRAME', 'message on a stream transport has no Content-Length (RFC 3261 §20.14 makes it mandatory)');
  return found;
}

export class SipStreamFramer {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxMessageBytes = MAX_STREAM_MESSAGE_BYTES) {}

  /** Bytes waiting for the rest of a message. */
  get pendingBytes(): number {
    return this.buf.length;
  }

  /** `expectingPong`: we sent a ping and wait for its pong (decides what a lone CRLF is). */
  push(chunk: Buffer, expectingPong = false): StreamFrame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: StreamFrame[] = [];
    for (;;) {
      const frame = this.next(expectingPong);
      if (frame === AGAIN) continue;
      if (!frame) return out;
      if (frame.kind === 'pong') expectingPong = false;
      out.push(frame);
    }
  }

  private next(expectingPong: boolean): StreamFrame | typeof AGAIN | undefined {
    const b = this.buf;
    if (b.length === 0) return undefined;
    if (b[0] === 0x0d || b[0] === 0x0a) return this.keepalive(expectingPong);
    const end = b.indexOf(CRLF2);
    if (end < 0) {
      if (b.length > this.maxMessageBytes) throw new TonewallError('ESIPFRAME', `header block of more than ${b.length} bytes without an empty line exceeds ${this.maxMessageBytes}`);
      return undefined;
    }
    const bodyLength = contentLength(b.toString('latin1', 0, end));
    const total = end + 4 + bodyLength;
    if (total > this.maxMessageBytes) throw new TonewallError('ESIPFRAME', `message of ${total} bytes (Content-Length ${bodyLength}) exceeds ${this.maxMessageBytes}`);
    if (b.length < total) return undefined;
    const data = Buffer.from(b.subarray(0, total));
    this.buf = b.subarray(total);
    return { kind: 'message', data };
  }

  /**
   * RFC 5626 §4.4.1: CRLFCRLF = ping, CRLF = pong. A pong only ever answers our ping, so a CRLF is
   * a pong while one is awaited; otherwise a CRLF with nothing after it may be the first half of a
   * ping and waits for more bytes, and a CRLF before a message is ignored (RFC 3261 §7.5).
   */
  private keepalive(expectingPong: boolean): StreamFrame | typeof AGAIN | undefined {
    const b = this.buf;
    if (b[0] === 0x0a) {
      this.buf = b.subarray(1); // a bare LF: tolerated as a CRLF
      return expectingPong ? { kind: 'pong' } : AGAIN;
    }
    if (b.length < 2) return undefined;
    if (b[1] !== 0x0a) {
      this.buf = b.subarray(1); // a stray CR: skip it
      return AGAIN;
    }
    if (b.length >= 4 && b[2] === 0x0d && b[3] === 0x0a) {
      this.buf = b.subarray(4);
      return { kind: 'ping' };
    }
    if (b.length === 3 && b[2] === 0x0d) return undefined; // a ping whose last LF is in flight
    if (b.length === 2 && !expectingPong) return undefined; // half a ping, or a CRLF before a message
    this.buf = b.subarray(2);
    return expectingPong ? { kind: 'pong' } : AGAIN;
  }
}
