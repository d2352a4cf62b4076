/**
 * The two checks of the card link (docs/card-link.md §2):
 * - CRC-8/SMBUS (poly 0x07, init 0x00, no reflection, xorout 0x00) over the frame header, so a false
 *   sync in garbage is rejected before its length is believed. Check value of "123456789": 0xF4.
 * - CRC-32C (Castagnoli, poly 0x1EDC6F41 reflected = 0x82F63B78, init 0xFFFFFFFF, xorout 0xFFFFFFFF)
 *   over header and payload. Check value of "123456789": 0xE3069283.
 * Pure table-driven functions over a byte range; no allocation.
 */

function makeCrc8Table(poly: number): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let b = 0; b < 8; b++) c = c & 0x80 ? ((c << 1) ^ poly) & 0xff : (c << 1) & 0xff;
    t[i] = c;
  }
  return t;
}

function makeCrc32Table(polyReflected: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let b = 0; b < 8; b++) c = c & 1 ? (c >>> 1) ^ polyReflected : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
}

const CRC8_TABLE = makeCrc8Table(0x07);
const CRC32C_TABLE = makeCrc32Table(0x82f63b78);

/** CRC-8/SMBUS of `data[start, end)`. */
export function crc8(data: Uint8Array, start = 0, end = data.length): number {
  let c = 0;
  for (let i = start; i < end; i++) c = CRC8_TABLE[(c ^ (data[i] ?? 0)) & 0xff] ?? 0;
  return c;
}

/** CRC-32C of `data[start, end)`, as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = (CRC32C_TABLE[(c ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
