import assert from 'node:assert/strict';
import { isUuidv7, uuidv7, uuidv7TimeMs } from '../../../controller/store/uuidv7';

describe('store/uuidv7 (RFC 9562 §5.7)', () => {
  it('sets version 7 and variant 10 and carries the ms timestamp', () => {
    const ts = 1_767_000_000_123;
    const id = uuidv7(ts, (n) => Buffer.alloc(n, 0xff));
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(id.slice(14, 15), '7');
    assert.equal(id.slice(19, 20), 'b'); // 0xff with variant bits 10 → 0xbf
    assert.equal(uuidv7TimeMs(id), ts);
  });

  it('puts the random bytes after the timestamp', () => {
    const id = uuidv7(0, (n) => Buffer.alloc(n, 0));
    assert.equal(id, '00000000-0000-7000-8000-000000000000');
  });

  it('is unique over many draws and sorts by time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(uuidv7(1000 + i));
    assert.equal(seen.size, 10_000);
    const sorted = [...seen].sort();
    assert.equal(uuidv7TimeMs(sorted[0] ?? ''), 1000);
    assert.equal(uuidv7TimeMs(sorted[sorted.length - 1] ?? ''), 10_999);
  });

  it('refuses a timestamp outside 48 bits and a short random source, naming the value', () => {
    assert.throws(() => uuidv7(-1), /timestamp -1 is not an integer/);
    assert.throws(() => uuidv7(2 ** 48), /281474976710656/);
    assert.throws(() => uuidv7(1, () => Buffer.alloc(3)), /needs 10 random bytes, got 3/);
  });

  it('isUuidv7 rejects other versions', () => {
    assert.equal(isUuidv7('6ba7b810-9dad-11d1-80b4-00c04fd430c8'), false);
    assert.equal(isUuidv7(uuidv7()), true);
  });
});
