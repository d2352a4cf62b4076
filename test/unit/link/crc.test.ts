import assert from 'node:assert/strict';
import { crc32c, crc8 } from '../../../hw/link/crc';

describe('link CRCs (docs/card-link.md §2)', () => {
  const check = Buffer.from('123456789', 'ascii');

  it('CRC-8/SMBUS of "123456789" is the catalogue check value 0xF4', () => {
    assert.equal(crc8(check), 0xf4);
  });

  it('CRC-32C of "123456789" is the catalogue check value 0xE3069283', () => {
    assert.equal(crc32c(check), 0xe3069283);
  });

  it('CRC-32C over a sub-range equals the CRC of that slice', () => {
    const padded = Buffer.concat([Buffer.from([9, 9]), check, Buffer.from([7])]);
    assert.equal(crc32c(padded, 2, 11), 0xe3069283);
    assert.equal(crc8(padded, 2, 11), 0xf4);
  });

  it('CRC-32C of nothing is 0', () => {
    assert.equal(crc32c(Buffer.alloc(0)), 0);
  });
});
