/**
 * The POSIX ustar subset update bundles use (docs/mqtt/ota.md "Bundle format"): regular files and
 * directories, names up to 255 bytes (prefix + name), no links, no pax or GNU extensions. A reader
 * that refuses anything else keeps an install from writing outside its slot: every name is checked
 * (relative, no `..`, no empty or `.` components) before a byte is written.
 *
 * Header (512 bytes): name[0,100) mode[100,8) size[124,12) octal, chksum[148,8), typeflag[156],
 * magic "ustar\0" at 257, version "00" at 263, prefix[345,155). Data padded to 512; the archive
 * ends with two zero blocks.
 */
import { TonewallError } from '../../../hw/base/errors';

export const BLOCK = 512;

export interface UstarEntry {
  path: string;
  type: 'file' | 'dir';
  /** Permission bits (0o755 / 0o644 as archived; the installer keeps only the execute bit). */
  mode: number;
  size: number;
}

function field(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('latin1', off, end === -1 || end > off + len ? off + len : end);
}

function octal(b: Buffer, off: number, len: number, what: string): number {
  const s = field(b, off, len).trim();
  if (!/^[0-7]{1,12}$/.test(s)) throw new TonewallError('EOTA_BUNDLE', `tar header ${what} "${s.slice(0, 12)}" is not an octal number`);
  return parseInt(s, 8);
}

/** `s` with control characters shown as `?` (for messages). */
function shown(s: string): string {
  let out = '';
  for (const ch of s.slice(0, 120)) out += ch.charCodeAt(0) < 0x20 ? '?' : ch;
  return out;
}

const hasControl = (s: string): boolean => [...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch === '\\');

/** Checks a member name; returns it normalised (no trailing slash). */
export function safeMemberPath(name: string): string {
  const path = name.replace(/\/+$/, '');
  if (path.length === 0) throw new TonewallError('EOTA_BUNDLE', 'tar member has an empty name');
  if (path.startsWith('/')) throw new TonewallError('EOTA_BUNDLE', `tar member "${path.slice(0, 120)}" is an absolute path`);
  for (const part of path.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new TonewallError('EOTA_BUNDLE', `tar member "${path.slice(0, 120)}" has a "${part}" path component`);
  }
  if (hasControl(path)) throw new TonewallError('EOTA_BUNDLE', `tar member "${shown(path)}" has a control character or backslash`);
  return path;
}

/** Decodes one header block; undefined for a zero block (end of archive). */
export function decodeHeader(b: Buffer): UstarEntry | undefined {
  if (b.length !== BLOCK) throw new TonewallError('EOTA_BUNDLE', `tar header is ${b.length} bytes; expected ${BLOCK}`);
  if (b.every((x) => x === 0)) return undefined;
  if (b.toString('latin1', 257, 262) !== 'ustar') throw new TonewallError('EOTA_BUNDLE', 'tar header has no ustar magic; bundles are POSIX ustar archives');
  const stored = octal(b, 148, 8, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (b[i] ?? 0);
  if (sum !== stored) throw new TonewallError('EOTA_BUNDLE', `tar header checksum is ${stored}; the header sums to ${sum}`);
  const flag = String.fromCharCode(b[156] ?? 0);
  const prefix = field(b, 345, 155);
  const name = field(b, 0, 100);
  const full = prefix ? `${prefix}/${name}` : name;
  let type: UstarEntry['type'];
  if (flag === '0' || flag === '\0') type = 'file';
  else if (flag === '5') type = 'dir';
  else throw new TonewallError('EOTA_BUNDLE', `tar member "${shown(full)}" has type "${shown(flag)}"; only regular files and directories are accepted`);
  const size = octal(b, 124, 12, 'size');
  if (type === 'dir' && size !== 0) throw new TonewallError('EOTA_BUNDLE', `tar directory "${full.slice(0, 120)}" has size ${size}`);
  return { path: safeMemberPath(full), type, mode: octal(b, 100, 8, 'mode') & 0o7777, size };
}

/** Encodes a header for `entry` (the name is split into prefix/name when longer than 100 bytes). */
export function encodeHeader(entry: UstarEntry, mtimeS = 0): Buffer {
  const path = safeMemberPath(entry.path) + (entry.type === 'dir' ? '/' : '');
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(path) > 100) {
    const cut = path.lastIndexOf('/', path.length - 2);
    prefix = cut > 0 ? path.slice(0, cut) : '';
    name = path.slice(cut + 1);
    if (!prefix || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(name) > 100) throw new TonewallError('EOTA_BUNDLE', `path "${path.slice(0, 120)}" does not fit a ustar header (prefix ≤ 155, name ≤ 100 bytes)`);
  }
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, 'utf8');
  b.write(`${(entry.mode & 0o7777).toString(8).padStart(7, '0')}\0`, 100, 8, 'latin1');
  b.write('0000000\0', 108, 8, 'latin1');
  b.write('0000000\0', 116, 8, 'latin1');
  b.write(`${entry.size.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  b.write(`${Math.floor(mtimeS).toString(8).padStart(11, '0')}\0`, 136, 12, 'latin1');
  b.write('        ', 148, 8, 'latin1');
  b.write(entry.type === 'dir' ? '5' : '0', 156, 1, 'latin1');
  b.write('ustar\0', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  b.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

/** Zero bytes after `size` data bytes up to the next block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/**
 * Streaming reader: feed chunks; `onEntry` is called per member header, `onData` with its bytes in
 * order, `onEnd` after the end-of-archive blocks. Throws EOTA_BUNDLE on the first bad header.
 */
export class UstarReader {
  private buf: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private pad = 0;
  private ended = false;
  private current: UstarEntry | undefined;

  constructor(
    private readonly sink: {
      onEntry: (e: UstarEntry) => void;
      onData: (e: UstarEntry, chunk: Buffer) => void;
      onEntryEnd: (e: UstarEntry) => void;
    },
  ) {}

  get done(): boolean {
    return this.ended;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (!this.ended) {
      if (this.current && this.remaining > 0) {
        if (this.buf.length === 0) return;
        const n = Math.min(this.remaining, this.buf.length);
        this.sink.onData(this.current, this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.remaining -= n;
        continue;
      }
      if (this.current) {
        if (this.buf.length < this.pad) return;
        this.buf = this.buf.subarray(this.pad);
        this.sink.onEntryEnd(this.current);
        this.current = undefined;
      }
      if (this.buf.length < BLOCK) return;
      const entry = decodeHeader(Buffer.from(this.buf.subarray(0, BLOCK)));
      this.buf = this.buf.subarray(BLOCK);
      if (!entry) {
        this.ended = true;
        return;
      }
      this.current = entry;
      this.sink.onEntry(entry);
      this.remaining = entry.size;
      this.pad = padding(entry.size).length;
    }
  }

  /** Throws when the archive was cut short. */
  finish(): void {
    if (!this.ended) throw new TonewallError('EOTA_BUNDLE', this.current ? `tar member "${this.current.path}" is cut short` : 'tar archive has no end-of-archive blocks');
  }
}
