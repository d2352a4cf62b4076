import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PublishGuard } from '../../../controller/fleet/publish-guard';

const PAN = '4111111111111111'; // Luhn-valid test PAN
const LUHN_TS = 1767000000003; // a 13-digit ms timestamp that passes Luhn

describe('fleet/publish-guard (DESIGN.md §7: nothing reported contains card data)', () => {
  it('refuses a Luhn-valid 16-digit run in any field, counting it and not echoing it', () => {
    const g = new PublishGuard();
    for (const payload of [{ a: PAN }, { data: { note: `ref ${PAN}` } }, { list: ['x', PAN] }, { n: Number(PAN) }, { spaced: '4111 1111 1111 1111' }]) {
      assert.throws(() => g.check('tonewall/v1/d/events/call', payload), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'EFLEET_GUARD');
        assert.ok(!err.message.includes(PAN));
        return true;
      });
    }
    assert.equal(g.refused, 5);
  });

  it('refuses a card-like run in the topic', () => {
    const g = new PublishGuard();
    assert.throws(() => g.check(`tonewall/v1/d/calls/${PAN}`, { ok: true }), /topic has a card-like digit run/);
    assert.equal(g.refused, 1);
  });

  it('refuses forbidden keys at any depth', () => {
    const g = new PublishGuard();
    for (const k of ['pan', 'digits', 'dtmf', 'cvv', 'cvc', 'expiry', 'cardNumber']) {
      assert.throws(() => g.check('t', { data: { fields: [{ [k]: 'x' }] } }), /forbidden card-data key/, k);
    }
  });

  it('allows the envelope timestamps even when they happen to pass Luhn', () => {
    const g = new PublishGuard();
    g.check('tonewall/v1/d/events/call', { v: 1, ts: LUHN_TS, dev: 'd', boot: 'b', conn: 3, seq: 9, id: 'x', type: 'call', createdTs: LUHN_TS, data: { startedAt: LUHN_TS, durationMs: 1234 } });
    g.check('tonewall/v1/d/calls/c1', null);
    assert.equal(g.refused, 0);
  });

  it('still refuses a Luhn-valid 13-digit number under a non-timestamp key', () => {
    assert.throws(() => new PublishGuard().check('t', { count: LUHN_TS }), /card-like digit run \(13 digits/);
  });

  it('never refuses a clean envelope, whatever its UUIDs, timestamps and counters (property)', () => {
    const g = new PublishGuard();
    fc.assert(
      fc.property(fc.uuid(), fc.uuid(), fc.integer({ min: 1e12, max: 9_999_999_999_999 }), fc.nat(), fc.nat(), (id, boot, ts, conn, seq) => {
        g.check('tonewall/v1/tw-lon-0042/events/call', { v: 1, ts, dev: 'tw-lon-0042', boot, conn, seq, id, type: 'call.ended', createdTs: ts, data: { callId: id, durationMs: seq, q850: 16 } });
      }),
      { numRuns: 5000 },
    );
    assert.equal(g.refused, 0);
  });
});
