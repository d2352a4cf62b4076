/**
 * Little-endian byte writer and strict reader for link payloads. The reader throws
 * LinkPayloadError naming the field, the bad value and what was expected; the codec turns that into
 * a malformed-frame count. Writer and reader enforce the same ranges, so every payload that decodes
 * re-encodes to the same bytes (docs/card-link.md §2, canonical encoding).
 */
import { TonewallError } from '../base/errors';

/** A payload that does not fit its type's layout (decoder) or a message that cannot be encoded. */
export class LinkPayloadError extends TonewallError {
  constructor(message: string) {
    super('LINK_PAYLOAD', message);
  }
}

/** Printable ASCII only: strings have one encoding, and no control bytes reach a log. */
const PRINTABLE = /^[\x20-\x7e]*$/;

function checkInt(field: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new LinkPayloadError(`${field} ${v} out of range, expected integer ${min}..${max}`);
}

export class ByteWriter {
  private readonly parts: Buffer[] = [];
  private scratch: number[] = [];

  u8(field: string, v: number, min = 0, max = 0xff): this {
    checkInt(field, v, min, max);
    this.scratch.push(v);
    return this;
  }

  s8(field: string, v: number, min = -128, max = 127): this {
    checkInt(field, v, min, max);
    this.scratch.push(v & 0xff);
    return this;
  }

  u16(field: string, v: number, min = 0, max = 0xffff): this {
    checkInt(field, v, min, max);
    this.scratch.push(v & 0xff, v >>> 8);
    return this;
  }

  u32(field: string, v: number): this {
    checkInt(field, v, 0, 0xffffffff);
    this.scratch.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
    return this;
  }

  bool(v: boolean): this {
    this.scratch.push(v ? 1 : 0);
    return this;
  }

  /** u8 length + printable ASCII. */
  str(field: string, s: string, maxLen: number, minLen = 0): this {
    if (!PRINTABLE.test(s)) throw new LinkPayloadError(`${field} contains a character outside printable ASCII 0x20..0x7e`);
    checkInt(`${field} length`, s.length, minLen, maxLen);
    this.scratch.push(s.length);
    this.flush();
    this.parts.push(Buffer.from(s, 'latin1'));
    return this;
  }

  bytes(data: Uint8Array): this {
    this.flush();
    this.parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    return this;
  }

  finish(): Buffer {
    this.flush();
    return this.parts.length === 1 && this.parts[0] ? this.parts[0] : Buffer.concat(this.parts);
  }

  private flush(): void {
    if (this.scratch.length) {
      this.parts.push(Buffer.from(this.scratch));
      this.scratch = [];
    }
  }
}

export class ByteReader {
  private off = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.off;
  }

  private need(field: string, n: number): void {
    if (this.remaining < n) throw new LinkPayloadError(`${this.what} payload ends inside ${field}: needs ${n} more bytes, has ${this.remaining}`);
  }

  u8(field: string, min = 0, max = 0xff): number {
    this.need(field, 1);
    const v = this.buf.readUInt8(this.off++);
    checkRead(this.what, field, v, min, max);
    return v;
  }

  s8(field: string, min = -128, max = 127): number {
    this.need(field, 1);
    const v = this.buf.readInt8(this.off++);
    checkRead(this.what, field, v, min, max);
    return v;
  }

  u16(field: string, min = 0, max = 0xffff): number {
    this.need(field, 2);
    const v = this.buf.readUInt16LE(this.off);
    this.off += 2;
    checkRead(this.what, field, v, min, max);
    return v;
  }

  u32(field: string): number {
    this.need(field, 4);
    const v = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }

  bool(field: string): boolean {
    return this.u8(field, 0, 1) === 1;
  }

  str(field: string, maxLen: number, minLen = 0): string {
    const len = this.u8(`${field} length`, minLen, maxLen);
    this.need(field, len);
    const bytes = this.buf.subarray(this.off, this.off + len);
    this.off += len;
    for (const b of bytes) {
      if (b < 0x20 || b > 0x7e) throw new LinkPayloadError(`${this.what} ${field} byte 0x${b.toString(16).padStart(2, '0')} is not printable ASCII 0x20..0x7e`);
    }
    return bytes.toString('latin1');
  }

  /** A copy of the next n bytes (the caller may keep it; the decoder's buffer is reused). */
  bytes(field: string, n: number): Buffer {
    this.need(field, n);
    const out = Buffer.from(this.buf.subarray(this.off, this.off + n));
    this.off += n;
    return out;
  }

  rest(field: string): Buffer {
    return this.bytes(field, this.remaining);
  }

  end(): void {
    if (this.remaining !== 0) throw new LinkPayloadError(`${this.what} payload has ${this.remaining} trailing bytes after its last field`);
  }
}

function checkRead(what: string, field: string, v: number, min: number, max: number): void {
  if (v < min || v > max) throw new LinkPayloadError(`${what} ${field} ${v} out of range, expected ${min}..${max}`);
}

/** A bidirectional code table: name ↔ byte. */
export class CodeTable<N extends string> {
  private readonly byName: Map<N, number>;
  private readonly byCode: Map<number, N>;

  constructor(
    private readonly field: string,
    entries: Record<N, number>,
  ) {
    this.byName = new Map(Object.entries(entries) as [N, number][]);
    this.byCode = new Map([...this.byName].map(([n, c]) => [c, n]));
  }

  encode(name: N): number {
    const c = this.byName.get(name);
    if (c === undefined) throw new LinkPayloadError(`${this.field} '${String(name)}' unknown, expected one of ${[...this.byName.keys()].join(', ')}`);
    return c;
  }

  decode(what: string, code: number): N {
    const n = this.byCode.get(code);
    if (n === undefined) throw new LinkPayloadError(`${what} ${this.field} code 0x${code.toString(16).padStart(2, '0')} unknown`);
    return n;
  }
}
