/**
 * The logger's last-line card-number guard counts what it refuses (DESIGN.md §7, issue #6): per
 * logger tree (`counters.droppedRecords`) and per process (`cardGuardRefusals()`), so the refusals
 * can be reported as a metric. Card numbers here are built from digits at run time.
 */
import assert from 'node:assert/strict';
import { cardGuardRefusals, createLogger, memorySink } from '../../../hw/base/logger';

/** A Luhn-valid 16-digit number starting with `prefix` (the check digit appended). */
function luhnNumber(prefix: string): string {
  const digits = prefix.split('').map(Number);
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits[i] ?? 0;
    if (double) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return prefix + String((10 - (sum % 10)) % 10);
}

describe('card-number guard refusal counter (logger)', () => {
  const pan = luhnNumber('491700123456789');

  it('counts each refused record once, in the process total and in its tree', () => {
    const before = cardGuardRefusals();
    const log = createLogger({ level: 'info', sinks: [memorySink()] });
    log.info(`card ${pan}`);
    log.child('secure').warn('grouped', { v: `${pan.slice(0, 4)} ${pan.slice(4, 8)} ${pan.slice(8, 12)} ${pan.slice(12)}` });
    log.error('overlong', { v: '1'.repeat(24) });
    assert.equal(cardGuardRefusals() - before, 3);
    assert.equal(log.counters.droppedRecords, 3);
  });

  it('does not count records it lets through, nor records below the level', () => {
    const before = cardGuardRefusals();
    const log = createLogger({ level: 'warn', sinks: [memorySink()] });
    log.warn('port 1 channel 2 seq 123456', { callId: '12345678-1234-4234-8234-123456789012' });
    log.warn('not Luhn-valid', { v: pan.slice(0, 15) + String((Number(pan.slice(15)) + 1) % 10) });
    log.info(`below the level ${pan}`);
    assert.equal(cardGuardRefusals(), before);
    assert.equal(log.counters.droppedRecords, 0);
  });

  it('sums over separate logger trees', () => {
    const before = cardGuardRefusals();
    const a = createLogger({ level: 'info', sinks: [] });
    const b = createLogger({ level: 'info', sinks: [] });
    a.info(pan);
    b.info(pan);
    b.info(pan);
    assert.equal(a.counters.droppedRecords, 1);
    assert.equal(b.counters.droppedRecords, 2);
    assert.equal(cardGuardRefusals() - before, 3);
  });

  it('replaces the refused record by a notice that carries no digits of it', () => {
    const sink = memorySink();
    const log = createLogger({ level: 'info', sinks: [sink] });
    log.info('x', { nested: { deep: [pan] } });
    assert.equal(sink.lines.length, 1);
    assert.ok(!(sink.lines[0] ?? '').includes(pan.slice(0, 6)));
    assert.match(sink.lines[0] ?? '', /log record dropped/);
  });
});
