/**
 * ITU-T G.711 µ-law and A-law, table-driven.
 *
 * Decoding is a 256-entry table per law. Encoding is a 64 KiB table per law built from the
 * segment search of SpanDSP's g711.h (0.0.6), with which both tables are bit-exact over all 65536
 * inputs and 256 codes (test/interop/dsp/spandsp.test.ts): µ-law folds a negative sample as -x
 * (symmetric decision levels) and adds the 0x84 bias; A-law folds it as -x-1; A-law output is
 * XORed with 0x55 and µ-law output inverted, as the standard transmits them. (The ITU-T G.191
 * reference folds µ-law negatives as -x-1 and so differs by one code at 127 negative decision
 * boundaries, each a difference of one quantisation step.)
 *
 * Buffers of linear audio are Int16Array (native endian, 8 kHz mono); companded audio is a
 * Uint8Array/Buffer of one byte per sample.
 */

export type CompandingLaw = 'ulaw' | 'alaw';

const ULAW_BIAS = 0x84;

function ulawDecodeByte(u: number): number {
  const v = ~u & 0xff;
  const sign = v & 0x80;
  const exponent = (v >> 4) & 0x07;
  const mantissa = v & 0x0f;
  const magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
  return sign ? -magnitude : magnitude;
}

function alawDecodeByte(a: number): number {
  const v = a ^ 0x55;
  const sign = v & 0x80;
  const exponent = (v >> 4) & 0x07;
  const mantissa = v & 0x0f;
  let magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  magnitude = magnitude | 0;
  return sign ? magnitude : -magnitude;
}

function topBit(v: number): number {
  return 31 - Math.clz32(v);
}

/** SpanDSP µ-law compression of one 16-bit sample (negatives folded as -x, bias 0x84). */
function ulawEncodeSample(linear: number): number {
  let v: number;
  let mask: number;
  if (linear < 0) {
    v = ULAW_BIAS - linear;
    mask = 0x7f;
  } else {
    v = ULAW_BIAS + linear;
    mask = 0xff;
  }
  const seg = topBit(v | 0xff) - 7;
  if (seg >= 8) return (0x7f ^ mask) & 0xff;
  return (((seg << 4) | ((v >> (seg + 3)) & 0x0f)) ^ mask) & 0xff;
}

/** G.191 / SpanDSP A-law compression of one 16-bit sample (even bits inverted with 0x55). */
function alawEncodeSample(linear: number): number {
  let v = linear;
  let mask: number;
  if (v >= 0) {
    mask = 0x55 | 0x80;
  } else {
    mask = 0x55;
    v = -v - 1;
  }
  const seg = topBit(v | 0xff) - 7;
  if (seg >= 8) return (0x7f ^ mask) & 0xff;
  return (((seg << 4) | ((v >> (seg ? seg + 3 : 4)) & 0x0f)) ^ mask) & 0xff;
}

export const ULAW_TO_LINEAR: Int16Array = Int16Array.from({ length: 256 }, (_, i) => ulawDecodeByte(i));
export const ALAW_TO_LINEAR: Int16Array = Int16Array.from({ length: 256 }, (_, i) => alawDecodeByte(i));

/** 16-bit linear → companded, one 64 KiB table per law indexed by (sample + 32768). */
const ULAW_ENCODE = Uint8Array.from({ length: 65536 }, (_, i) => ulawEncodeSample(i - 32768));
const ALAW_ENCODE = Uint8Array.from({ length: 65536 }, (_, i) => alawEncodeSample(i - 32768));

export function linearToUlaw(sample: number): number {
  return ULAW_ENCODE[(sample | 0) + 32768] as number;
}

export function linearToAlaw(sample: number): number {
  return ALAW_ENCODE[(sample | 0) + 32768] as number;
}

/** Decodes `input` into `out` (same length); returns `out`. */
export function decode(law: CompandingLaw, input: Uint8Array, out: Int16Array = new Int16Array(input.length)): Int16Array {
  const table = law === 'ulaw' ? ULAW_TO_LINEAR : ALAW_TO_LINEAR;
  for (let i = 0; i < input.length; i++) out[i] = table[input[i] as number] as number;
  return out;
}

/** Encodes `input` into `out` (same length); returns `out`. */
export function encode(law: CompandingLaw, input: Int16Array, out: Uint8Array = new Uint8Array(input.length)): Uint8Array {
  const table = law === 'ulaw' ? ULAW_ENCODE : ALAW_ENCODE;
  for (let i = 0; i < input.length; i++) out[i] = table[(input[i] as number) + 32768] as number;
  return out;
}

/** The companded code for digital silence (linear 0) in each law. */
export const SILENCE_BYTE: Record<CompandingLaw, number> = { ulaw: 0xff, alaw: 0xd5 };

/** RTP static payload types (RFC 3551): PCMU = 0, PCMA = 8. */
export const PAYLOAD_TYPE: Record<CompandingLaw, number> = { ulaw: 0, alaw: 8 };
