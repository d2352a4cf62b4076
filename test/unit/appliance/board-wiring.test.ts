/**
 * The appliance's board wiring (controller/app/board.ts, link-alarms.ts) against the strict fake
 * GPIO and a manual clock: relay follows health, the trunk-alarm LED follows link alarms, the
 * secure LED follows live payment sessions, tamper raises and clears a critical alarm, a confirmed
 * factory reset reaches the service, and the card-link / D-channel alarms obey their grace period.
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { gpioSchema } from '../../../hw/gpio/gpio-config';
import { ApplianceBoard } from '../../../controller/app/board';
import { LinkAlarms } from '../../../controller/app/link-alarms';
import type { AlarmBody } from '../../../controller/fleet/topics';
import { FakeGpioBackend } from '../../lib/gpio-fake';
import { ManualClock } from '../../lib/manual-clock';

const LINES = {
  transferRelay: { line: 512 },
  ledPower: { line: 513 },
  ledTrunkAlarm: { line: 514 },
  button: { line: 515 },
  ledSecure: { line: 516 },
  tamper: { line: 518 },
};

function setup(enabled = true) {
  const clock = new ManualClock();
  const backend = new FakeGpioBackend(clock);
  const alarms = new Map<string, AlarmBody>();
  const alarmLog: [string, boolean][] = [];
  const sink = {
    setAlarm: (id: string, a: AlarmBody | null) => {
      alarmLog.push([id, a !== null]);
      if (a) alarms.set(id, a);
      else alarms.delete(id);
    },
  };
  let resets = 0;
  const board = new ApplianceBoard({ config: gpioSchema.parse({ enabled, lines: LINES, debounceMs: 0, longPressMs: 2000, confirmWindowMs: 5000 }), log: nullLogger, clock, alarms: sink, backend, onFactoryReset: () => resets++ });
  board.start();
  return { clock, backend, board, alarms, alarmLog, sink, resets: () => resets };
}

describe('app: board wiring', () => {
  it('opens nothing when gpio is disabled, and keeps state', () => {
    const { backend, board } = setup(false);
    assert.equal(backend.openLines.length, 0);
    board.setHealthy(true);
    board.setPaymentActive('s1', true);
    assert.equal(board.securePayments, 1);
    assert.equal(board.health(), undefined);
  });

  it('relay energised only while healthy; stop releases it and closes every line', () => {
    const { backend, board } = setup();
    const relay = backend.line('transfer-relay');
    assert.equal(relay.level, 0, 'released at start');
    board.setHealthy(true);
    assert.equal(relay.level, 1);
    board.setHealthy(false);
    assert.equal(relay.level, 0);
    board.setHealthy(true);
    board.stop();
    assert.equal(relay.level, 0);
    assert.equal(backend.openLines.length, 0);
  });

  it('trunk-alarm LED is on while any link alarm is active', () => {
    const { backend, board } = setup();
    const led = backend.line('led-trunk-alarm');
    board.setLinkAlarm('card-link', true);
    board.setLinkAlarm('span-1-dchannel', true);
    assert.equal(led.level, 1);
    board.setLinkAlarm('card-link', false);
    assert.equal(led.level, 1, 'one alarm is still active');
    board.setLinkAlarm('span-1-dchannel', false);
    assert.equal(led.level, 0);
  });

  it('secure LED is on while any payment session is live', () => {
    const { backend, board } = setup();
    const led = backend.line('led-secure');
    board.setPaymentActive('a', true);
    board.setPaymentActive('b', true);
    board.setPaymentActive('a', false);
    assert.equal(led.level, 1);
    board.setPaymentActive('b', false);
    assert.equal(led.level, 0);
  });

  it('tamper raises a critical alarms/tamper and clears it when the enclosure closes', () => {
    const { backend, alarms, alarmLog } = setup();
    backend.line('tamper').set(1);
    assert.equal(alarms.get('tamper')?.severity, 'critical');
    backend.line('tamper').set(0);
    assert.equal(alarms.has('tamper'), false);
    assert.deepEqual(alarmLog, [
      ['tamper', true],
      ['tamper', false],
    ]);
  });

  it('a long press then a confirming press reaches the factory reset; a long press alone does not', () => {
    const { clock, backend, resets } = setup();
    const button = backend.line('button');
    button.set(1);
    clock.advance(2500);
    button.set(0);
    clock.advance(6000);
    assert.equal(resets(), 0, 'no confirmation within the window: cancelled');
    button.set(1);
    clock.advance(2500);
    button.set(0);
    clock.advance(500);
    button.set(1);
    clock.advance(100);
    button.set(0);
    assert.equal(resets(), 1);
  });
});

describe('app: link alarms', () => {
  function alarmsSetup(graceMs = 10_000) {
    const clock = new ManualClock();
    const active = new Map<string, AlarmBody>();
    const changes: [string, boolean][] = [];
    const la = new LinkAlarms({
      clock,
      graceMs,
      alarms: { setAlarm: (id, a) => (a ? active.set(id, a) : active.delete(id)) },
      onChange: (id, on) => changes.push([id, on]),
    });
    la.start();
    return { clock, la, active, changes };
  }

  it('a card link that comes up within the grace period raises nothing', () => {
    const { clock, la, active } = alarmsSetup();
    clock.advance(5_000);
    la.cardLink(true);
    clock.advance(60_000);
    assert.equal(active.size, 0);
  });

  it('a card link that never comes up is alarmed once the grace period ends', () => {
    const { clock, la, active } = alarmsSetup();
    la.cardLink(false, 'connecting');
    assert.equal(active.size, 0, 'down during the grace period is start-up, not an alarm');
    clock.advance(10_000);
    assert.equal(active.get('card-link')?.severity, 'major');
    la.cardLink(true);
    assert.equal(active.size, 0);
  });

  it('card link down after being up raises at once (with the reason), once, and clears on up', () => {
    const { la, active, changes } = alarmsSetup();
    la.cardLink(true);
    la.cardLink(false, 'keepalive timeout');
    la.cardLink(false, 'reconnect failed');
    assert.match(active.get('card-link')?.text ?? '', /keepalive timeout/);
    la.cardLink(true);
    assert.deepEqual(changes, [
      ['card-link', true],
      ['card-link', false],
    ]);
  });

  it('D-channel alarms per span', () => {
    const { la, active } = alarmsSetup();
    la.dchannel(1, false);
    la.dchannel(2, false);
    la.dchannel(1, true);
    assert.deepEqual(la.activeIds, ['span-2-dchannel']);
    assert.equal(active.get('span-2-dchannel')?.source, 'span/2');
  });
});

describe('app: board wiring when a line cannot be opened', () => {
  it('raises alarms/board-gpio naming the line, opens nothing, and does not throw', () => {
    const clock = new ManualClock();
    const backend = new FakeGpioBackend(clock, [512]);
    const alarms = new Map<string, AlarmBody>();
    const board = new ApplianceBoard({
      config: gpioSchema.parse({ enabled: true, lines: { transferRelay: { line: 512 }, tamper: { line: 600 } } }),
      log: nullLogger,
      clock,
      alarms: { setAlarm: (id, a) => (a ? alarms.set(id, a) : alarms.delete(id)) },
      backend,
      onFactoryReset: () => undefined,
    });
    board.start();
    assert.match(alarms.get('board-gpio')?.text ?? '', /600/);
    assert.equal(backend.openLines.length, 0, 'lines opened before the failure are closed again');
    board.setHealthy(true);
    assert.equal(board.health(), undefined);
  });
});
