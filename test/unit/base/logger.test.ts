import assert from 'node:assert/strict';
import { findCardLikeRun, luhnValid } from '../../../hw/base/card-guard';
import { createLogger, memorySink } from '../../../hw/base/logger';

// Well-known public test card numbers (never real cards).
const VISA_TEST = '4111111111111111';

describe('card-number guard (DESIGN.md §7 last line of defence)', () => {
  it('recognises Luhn-valid runs of 13–19 digits, plain or grouped by spaces or dashes', () => {
    assert.equal(luhnValid([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), true);
    for (const text of [VISA_TEST, '4111 1111 1111 1111', '4111-1111-1111-1111', `pan=${VISA_TEST};`, '378282246310005']) {
      assert.equal(findCardLikeRun(text)?.reason, 'luhn-valid', text);
    }
  });

  it('passes digit runs that are not card-like', () => {
    for (const text of ['4111111111111112', 'port 1 channel 2', '1234567890', '2026-11-22T04:00:00.000Z', 'call 550e8400-e29b-41d4']) {
      assert.equal(findCardLikeRun(text), undefined, text);
    }
  });

  it('flags digit runs longer than 19 digits, which could hide a card number', () => {
    assert.equal(findCardLikeRun('x' + '1'.repeat(20))?.reason, 'overlong-digit-run');
  });
});

describe('logger', () => {
  it('writes records with module names from children and respects the level', () => {
    const sink = memorySink();
    const log = createLogger({ level: 'info', sinks: [sink] });
    const sip = log.child('sip');
    sip.debug('hidden');
    sip.info('INVITE sent', { to: 'sip:100@example.net' });
    assert.equal(sink.records.length, 1);
    assert.equal(sink.records[0]?.module, 'sip');
    assert.deepEqual(JSON.parse(sink.lines[0] ?? '{}').to, 'sip:100@example.net');
    log.setLevel('debug');
    sip.child('tx').debug('retransmit');
    assert.equal(sink.records[1]?.module, 'sip.tx');
  });

  it('evaluates lazy fields only when the level is enabled', () => {
    const log = createLogger({ level: 'info', sinks: [memorySink()] });
    let calls = 0;
    log.debug('dump', { hex: () => ++calls });
    assert.equal(calls, 0);
    log.info('dump', { hex: () => ++calls });
    assert.equal(calls, 1);
  });

  it('drops a record carrying a card-like digit run in the message or any field, and counts it', () => {
    const sink = memorySink();
    const log = createLogger({ level: 'info', sinks: [sink] });
    log.info(`oops ${VISA_TEST}`);
    log.warn('field', { nested: { value: '4111 1111 1111 1111' } });
    assert.equal(log.counters.droppedRecords, 2);
    for (const line of sink.lines) {
      assert.ok(!line.includes('4111'), line);
      assert.match(line, /log record dropped/);
    }
  });
});

describe('card-number guard and identifiers', () => {
  it('passes UUIDs whose groups are all digits (call, event and boot ids)', () => {
    assert.equal(findCardLikeRun('call 12345678-1234-4234-8234-123456789012 ended'), undefined);
    assert.equal(findCardLikeRun('{"id":"01a2019f-b917-7b2a-8565-221101411741"}'), undefined);
  });

  it('still finds a card number next to a UUID', () => {
    assert.equal(findCardLikeRun(`12345678-1234-4234-8234-123456789012 ${VISA_TEST}`)?.reason, 'luhn-valid');
  });
});
