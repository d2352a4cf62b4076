/**
 * The card-data arena (hw/base/secure-memory.ts) with a recording backend: locked once, slots
 * zeroed and wiped through the backend on release and reused, oversize requests and a full arena
 * fall back to Buffer.alloc (counted), a failed lock is reported rather than thrown.
 */
import assert from 'node:assert/strict';
import { SECURE_SLOT_BYTES, secureAlloc, secureMemoryStatus, secureRelease, secureWipe, useSecureMemory } from '../../../hw/base/secure-memory';

function recorder(failLock = false) {
  const locked: number[] = [];
  const wiped: number[] = [];
  return {
    locked,
    wiped,
    backend: {
      mlock: (b: Buffer) => {
        if (failLock) throw new Error('mlock: Cannot allocate memory (ENOMEM)');
        locked.push(b.length);
      },
      wipe: (b: Buffer) => {
        wiped.push(b.length);
        b.fill(0);
      },
    },
  };
}

describe('base: secure memory arena', () => {
  afterEach(() => useSecureMemory(undefined));

  it('locks the whole arena once when the backend is installed', () => {
    const r = recorder();
    const s = useSecureMemory(r.backend);
    assert.deepEqual(r.locked, [s.arenaBytes]);
    assert.equal(s.backend, 'native');
    assert.equal(s.locked, true);
  });

  it('hands out zeroed slots, wipes them through the backend on release and reuses them', () => {
    const r = recorder();
    useSecureMemory(r.backend);
    const inUse = secureMemoryStatus().slotsInUse;
    const a = secureAlloc(19);
    assert.equal(a.length, 19);
    assert.ok(a.every((x) => x === 0));
    a.write('9876543210', 'ascii');
    assert.equal(secureMemoryStatus().slotsInUse, inUse + 1);
    secureRelease(a);
    assert.deepEqual(r.wiped, [19]);
    assert.ok(a.every((x) => x === 0), 'released memory is zero');
    assert.equal(secureMemoryStatus().slotsInUse, inUse);
    const b = secureAlloc(19);
    assert.ok(b.every((x) => x === 0));
    secureRelease(b);
  });

  it('secureWipe zeroes in place and keeps the slot', () => {
    useSecureMemory(undefined);
    const a = secureAlloc(8);
    a.fill(7);
    const inUse = secureMemoryStatus().slotsInUse;
    secureWipe(a);
    assert.ok(a.every((x) => x === 0));
    assert.equal(secureMemoryStatus().slotsInUse, inUse);
    secureRelease(a);
  });

  it('oversize requests and a full arena fall back to Buffer.alloc, counted, still wiped on release', () => {
    useSecureMemory(undefined);
    const before = secureMemoryStatus().fallbacks;
    const big = secureAlloc(SECURE_SLOT_BYTES + 1);
    big.fill(9);
    secureRelease(big);
    assert.ok(big.every((x) => x === 0));
    const held: Buffer[] = [];
    const free = secureMemoryStatus().arenaBytes / SECURE_SLOT_BYTES - secureMemoryStatus().slotsInUse;
    for (let i = 0; i < free + 2; i++) held.push(secureAlloc(4));
    assert.equal(secureMemoryStatus().fallbacks, before + 3);
    for (const h of held) secureRelease(h);
  });

  it('a failed lock is reported, not thrown; wipes still go through the backend', () => {
    const r = recorder(true);
    const s = useSecureMemory(r.backend);
    assert.equal(s.locked, false);
    assert.match(s.lockError ?? '', /ENOMEM/);
    const a = secureAlloc(4);
    secureRelease(a);
    assert.deepEqual(r.wiped, [4]);
  });

  it('without a backend: js, unlocked', () => {
    const s = useSecureMemory(undefined);
    assert.equal(s.backend, 'js');
    assert.equal(s.locked, false);
  });
});
