/**
 * SIP identifiers (build.ts): Call-IDs, tags and branches are letters only, so none can hold a
 * digit run the card-data guard refuses (a hex Call-ID did, about once in 770 calls, and the call's
 * records were lost); they stay unique and long enough (RFC 3261 §8.1.1.4, §8.1.1.7, §19.3).
 */
import assert from 'node:assert/strict';
import { findCardLikeRun } from '../../../hw/base/card-guard';
import { newBranch, newCallId, newTag, randomLetters } from '../../../controller/sip/core/messages/build';

describe('sip: identifiers', () => {
  it('100k Call-IDs: letters at our host, unique, none card-like', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = newCallId('10.0.2.15');
      assert.match(id, /^[A-Za-z]{22}@10\.0\.2\.15$/);
      assert.equal(findCardLikeRun(id), undefined);
      seen.add(id);
    }
    assert.equal(seen.size, 100_000);
  });

  it('tags and branches: letters, the branch with the RFC 3261 magic cookie', () => {
    assert.match(newTag(), /^[A-Za-z]{10}$/);
    assert.match(newBranch(), /^z9hG4bK[A-Za-z]{12}$/);
  });

  it('every letter is drawn (no alphabet bias to the first letters)', () => {
    const counts = new Map<string, number>();
    for (const c of randomLetters(52_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.equal(counts.size, 52);
    for (const n of counts.values()) assert.ok(n > 700 && n < 1300, `letter count ${n} far from 1000`);
  });
});
