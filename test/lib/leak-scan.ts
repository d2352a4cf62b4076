/**
 * The leak scanner (issue #6, docs/leak-test.md): finds any canary's card number, expiry or security
 * code in an artifact's bytes, in every form a program could have written it.
 *
 * Three rules, each documented in docs/leak-test.md:
 *
 * 1. Byte needles, zero tolerance, over the raw bytes of every artifact:
 *    - card number: plain, spaced ("4 9 1 …"), dashed, grouped by four, comma-spaced ("4, 9, …"),
 *      UTF-16LE plain and spaced, JSON arrays of numbers and of strings;
 *    - expiry + security code as keyed (7 digits): plain, "MMYY#CVV", spaced, comma-spaced, UTF-16LE,
 *      JSON arrays; bounded (not inside a longer digit run);
 *    - expiry alone and security code alone: only in the forms chance does not produce (JSON arrays,
 *      util.inspect "[ 8, 3, 7 ]", spaced, UTF-16LE), bounded.
 * 2. Structured values, zero tolerance: every string (and key) of every JSON log record, MQTT payload
 *    and database row is searched for the expiry or the security code as a token of its own (between
 *    whitespace, quotes, brackets, commas: `TOKEN_RE`), which excludes timestamps, addresses,
 *    identifiers and protocol fields.
 * 3. Chance baseline, per text artifact: the distinct canary expiries and codes that occur as digit
 *    tokens (rule 2's, plus after a colon: JSON numbers, header values) are counted and compared
 *    with the same count for decoys that were never keyed; an excess over chance fails
 *    (`excessOverChance`).
 */

export type LeakField = 'pan' | 'expiry+cvv' | 'expiry' | 'cvv';
export type LeakForm = 'plain' | 'keyed' | 'spaced' | 'dashed' | 'grouped' | 'comma-spaced' | 'inspect' | 'utf16' | 'utf16-spaced' | 'json-numbers' | 'json-strings';

export interface Needle {
  canary: number;
  field: LeakField;
  form: LeakForm;
  bytes: Buffer;
  /** Must not continue a digit run on either side (short values; see rule 1). */
  bounded: boolean;
}

export interface LeakHit {
  artifact: string;
  canary: number;
  field: LeakField;
  form: LeakForm;
  offset: number;
}

export interface CanaryValues {
  index: number;
  pan: string;
  expiry: string;
  cvv: string;
}

function formBytes(value: string, form: LeakForm): Buffer {
  const d = value.split('');
  switch (form) {
    case 'plain':
      return Buffer.from(value, 'latin1');
    case 'keyed':
      return Buffer.from(value, 'latin1');
    case 'spaced':
      return Buffer.from(d.join(' '), 'latin1');
    case 'dashed':
      return Buffer.from(d.join('-'), 'latin1');
    case 'grouped':
      return Buffer.from(value.replace(/(\d{4})(?=\d)/g, '$1 '), 'latin1');
    case 'comma-spaced':
      return Buffer.from(d.join(', '), 'latin1');
    case 'inspect':
      return Buffer.from(`[ ${d.join(', ')} ]`, 'latin1');
    case 'utf16':
      return Buffer.from(value, 'utf16le');
    case 'utf16-spaced':
      return Buffer.from(d.join(' '), 'utf16le');
    case 'json-numbers':
      return Buffer.from(JSON.stringify(d.map(Number)), 'latin1');
    case 'json-strings':
      return Buffer.from(JSON.stringify(d), 'latin1');
  }
}

const PAN_FORMS: LeakForm[] = ['plain', 'spaced', 'dashed', 'grouped', 'comma-spaced', 'utf16', 'utf16-spaced', 'json-numbers', 'json-strings'];
const COMBINED_FORMS: LeakForm[] = ['plain', 'spaced', 'comma-spaced', 'utf16', 'json-numbers', 'json-strings'];
// Not comma-spaced alone: "0, 1, 2" is in source text and messages ("QoS 0, 1, 2 or 128"); the
// bracketed util.inspect form of a digit array is kept.
const SHORT_FORMS: LeakForm[] = ['spaced', 'inspect', 'utf16', 'json-numbers', 'json-strings'];

/** Every byte needle of rule 1 for these canaries. */
export function buildNeedles(canaries: readonly CanaryValues[]): Needle[] {
  const out: Needle[] = [];
  for (const c of canaries) {
    for (const form of PAN_FORMS) out.push({ canary: c.index, field: 'pan', form, bytes: formBytes(c.pan, form), bounded: false });
    for (const form of COMBINED_FORMS) out.push({ canary: c.index, field: 'expiry+cvv', form, bytes: formBytes(c.expiry + c.cvv, form), bounded: true });
    out.push({ canary: c.index, field: 'expiry+cvv', form: 'keyed', bytes: formBytes(`${c.expiry}#${c.cvv}`, 'keyed'), bounded: true });
    for (const field of ['expiry', 'cvv'] as const) {
      for (const form of SHORT_FORMS) out.push({ canary: c.index, field, form, bytes: formBytes(c[field], form), bounded: true });
    }
  }
  return out;
}

const isDigitByte = (b: number | undefined): boolean => b !== undefined && b >= 48 && b <= 57;

/** True when the match at [start, end) does not continue a digit run (in its own encoding). */
function boundedAt(buf: Buffer, start: number, end: number, form: LeakForm): boolean {
  if (form === 'utf16' || form === 'utf16-spaced') {
    const before = start >= 2 && isDigitByte(buf[start - 2]) && buf[start - 1] === 0;
    const after = isDigitByte(buf[end]) && buf[end + 1] === 0;
    const sepBefore = form === 'utf16-spaced' && start >= 4 && buf[start - 2] === 32 && buf[start - 1] === 0 && isDigitByte(buf[start - 4]);
    const sepAfter = form === 'utf16-spaced' && buf[end] === 32 && buf[end + 1] === 0 && isDigitByte(buf[end + 2]);
    return !before && !after && !sepBefore && !sepAfter;
  }
  if (isDigitByte(buf[start - 1]) || isDigitByte(buf[end])) return false;
  const sep = form === 'spaced' ? [32] : form === 'comma-spaced' ? [44, 32] : [];
  if (sep.length === 0) return true;
  // "8 3 7" inside "1 8 3 7" (or "1, 8, 3, 7") is part of a longer spaced run.
  const sepBefore = sep.every((s, i) => buf[start - sep.length + i] === s) && isDigitByte(buf[start - sep.length - 1]);
  const sepAfter = sep.every((s, i) => buf[end + i] === s) && isDigitByte(buf[end + sep.length]);
  return !sepBefore && !sepAfter;
}

/** Multi-needle search: one pass over the bytes, needles indexed by their first four bytes. */
export class LeakScanner {
  private readonly byPrefix = new Map<number, Needle[]>();
  private readonly first2 = new Uint8Array(65536);
  readonly needleCount: number;

  constructor(needles: readonly Needle[]) {
    for (const n of needles) {
      if (n.bytes.length < 4) throw new Error(`needle of ${n.bytes.length} bytes is shorter than the 4-byte index`);
      const key = n.bytes.readUInt32LE(0);
      const list = this.byPrefix.get(key) ?? [];
      list.push(n);
      this.byPrefix.set(key, list);
      this.first2[n.bytes.readUInt16LE(0)] = 1;
    }
    this.needleCount = needles.length;
  }

  /** Hits of rule 1 in `buf` from byte `from` on (default 0). */
  scan(artifact: string, buf: Buffer, from = 0): LeakHit[] {
    const hits: LeakHit[] = [];
    const end = buf.length - 3;
    for (let i = from; i < end; i++) {
      if (this.first2[(buf[i] ?? 0) | ((buf[i + 1] ?? 0) << 8)] === 0) continue;
      const list = this.byPrefix.get(buf.readUInt32LE(i));
      if (!list) continue;
      for (const n of list) {
        const stop = i + n.bytes.length;
        if (stop > buf.length || buf.compare(n.bytes, 0, n.bytes.length, i, stop) !== 0) continue;
        if (n.bounded && !boundedAt(buf, i, stop, n.form)) continue;
        hits.push({ artifact, canary: n.canary, field: n.field, form: n.form, offset: i });
      }
    }
    return hits;
  }
}

/**
 * Token of rule 2: a digit run standing alone, i.e. between the start or end of the string,
 * whitespace, quotes, `, ; ( ) [ ] { } < > |`. A run next to anything else (a letter, `. : = / - _ +
 * @ #`) is part of an identifier, time, address, key=value pair or protocol field ("cr=123/0",
 * "07:22:31.120Z", "sip:100@…"): rule 3 counts those.
 */
const TOKEN_RE = /(?<=^|[\s"'`,;()[\]{}<>|])[0-9]+(?=$|[\s"'`,;()[\]{}<>|])/g;
/** Token of rule 3: as rule 2, plus a run after `:` (JSON numbers, "Content-Length: 123"). */
const CHANCE_TOKEN_RE = /(?<=^|[\s"'`,;:()[\]{}<>|])[0-9]+(?=$|[\s"'`,;()[\]{}<>|])/g;

/** Rule 2 over the strings of structured records (JSON values and keys, database text columns). */
export class ValueScanner {
  private readonly short = new Map<string, { canary: number; field: LeakField }[]>();

  constructor(canaries: readonly CanaryValues[]) {
    for (const c of canaries) {
      for (const field of ['expiry', 'cvv'] as const) {
        const list = this.short.get(c[field]) ?? [];
        list.push({ canary: c.index, field });
        this.short.set(c[field], list);
      }
    }
  }

  scanStrings(artifact: string, strings: Iterable<string>): LeakHit[] {
    const hits: LeakHit[] = [];
    let offset = 0;
    for (const s of strings) {
      for (const m of s.matchAll(TOKEN_RE)) {
        for (const h of this.short.get(m[0]) ?? []) hits.push({ artifact, canary: h.canary, field: h.field, form: 'plain', offset: offset + (m.index ?? 0) });
      }
      offset += s.length;
    }
    return hits;
  }
}

/** Every string (keys and values) inside a parsed JSON value, depth first. */
export function* jsonStrings(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value;
  else if (Array.isArray(value)) for (const v of value) yield* jsonStrings(v);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      yield k;
      yield* jsonStrings(v);
    }
  }
}

/** Strings of a JSON-lines text (non-JSON lines are taken whole). */
export function* jsonLineStrings(text: string): Generator<string> {
  for (const line of text.split('\n')) {
    if (!line) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      yield line;
      continue;
    }
    yield* jsonStrings(parsed);
  }
}

export interface ChanceCount {
  canary: number;
  decoy: number;
}

/**
 * Rule 3: how many distinct short values of `canaries` and of `decoys` (the same number of values,
 * never keyed) occur as digit tokens in `text` (one artifact). Distinct values, not occurrences:
 * a protocol field that repeats one value (a Content-Length shared by a thousand INFOs) counts
 * once, whichever set the value falls in, while a leak shows up as many canary values.
 */
export function countShortTokens(text: string, canaries: readonly CanaryValues[], decoys: readonly CanaryValues[]): ChanceCount {
  const kind = new Map<string, 'canary' | 'decoy'>();
  for (const c of canaries) for (const v of [c.expiry, c.cvv]) kind.set(v, 'canary');
  for (const c of decoys) for (const v of [c.expiry, c.cvv]) if (!kind.has(v)) kind.set(v, 'decoy');
  const seen = new Set<string>();
  const count: ChanceCount = { canary: 0, decoy: 0 };
  for (const m of text.matchAll(CHANCE_TOKEN_RE)) {
    const k = kind.get(m[0]);
    if (!k || seen.has(m[0])) continue;
    seen.add(m[0]);
    count[k]++;
  }
  return count;
}

/**
 * Rule 3's verdict: distinct canary values beyond the decoy baseline by more than chance allows
 * (four standard deviations of a Poisson baseline, plus 5). Leaking one short value per payment
 * is far above it.
 */
export function excessOverChance(c: ChanceCount): boolean {
  return c.canary > c.decoy + 4 * Math.sqrt(c.decoy + 1) + 5;
}
