import assert from 'node:assert/strict';
import { findSensitive, isForbiddenKey } from '../../../controller/store/sensitive-scan';

// Luhn-valid test PAN (Visa test range).
const PAN = '4111111111111111';

describe('store/sensitive-scan (DESIGN.md §7 card data never persisted or sent)', () => {
  it('finds a Luhn-valid 16-digit run in any string field, at any depth', () => {
    assert.equal(findSensitive({ a: { b: [`x${PAN}y`] } })?.kind, 'card-like-run');
    assert.equal(findSensitive({ note: '4111 1111 1111 1111' })?.kind, 'card-like-run');
    assert.equal(findSensitive({ note: '4111-1111-1111-1111' })?.kind, 'card-like-run');
  });

  it('reports where, never the value', () => {
    const f = findSensitive({ data: { note: PAN } });
    assert.ok(f);
    assert.equal(f.path, '$.data.note');
    assert.ok(!JSON.stringify(f).includes(PAN));
  });

  it('finds a card number given as a JSON number or split into single digits', () => {
    assert.equal(findSensitive({ n: 4111111111111111 })?.kind, 'card-like-run');
    assert.equal(findSensitive({ list: PAN.split('').map(Number) })?.kind, 'card-like-run');
  });

  it('refuses forbidden keys, case- and separator-insensitively', () => {
    for (const k of ['pan', 'PAN', 'digits', 'dtmf', 'dtmfDigits', 'cvv', 'CVC', 'expiry', 'card_number', 'cardNumber', 'track2']) {
      assert.equal(isForbiddenKey(k), true, k);
      assert.equal(findSensitive({ x: { [k]: 1 } })?.kind, 'forbidden-key', k);
    }
    for (const k of ['callId', 'state', 'count', 'valid', 'brand', 'durationMs', 'q850']) assert.equal(isForbiddenKey(k), false, k);
  });

  it('allows 13-digit timestamps under timestamp keys even when Luhn-valid', () => {
    // 1767000000003 passes Luhn; under "ts"/"startedMs" it is a time, not card data.
    assert.equal(findSensitive({ x: '1767000000003' })?.kind, 'card-like-run');
    assert.equal(findSensitive({ ts: 1767000000003, startedMs: 1767000000003, raisedAt: 1767000000003 }), undefined);
    assert.equal(findSensitive({ count: 1767000000003 })?.kind, 'card-like-run');
  });

  it('accepts UUIDs even when their digits, read across the dashes, look like a card number', () => {
    // Read as one dash-grouped run these are 32 digits (overlong) — but no group can hold a PAN.
    const uuid = '01961234-5678-7123-8456-789012345678';
    assert.equal(findSensitive({ x: uuid.replace(/-/g, ' ') })?.kind, 'card-like-run');
    assert.equal(findSensitive({ id: uuid, boot: '12345678-1234-4123-8123-123456789012' }), undefined);
    // A UUID inside text is an identifier too (log lines name calls by id); a card number beside it is still found.
    assert.equal(findSensitive({ x: `id ${uuid}` }), undefined);
    assert.equal(findSensitive({ x: `id ${uuid} ${PAN}` })?.kind, 'card-like-run');
  });

  it('accepts ordinary telemetry', () => {
    assert.equal(findSensitive({ callId: 'c-1', span: 1, chan: 5, cause: 'normal', q850: 16, list: [1, 2, 3], ok: true, none: null }), undefined);
  });
});
