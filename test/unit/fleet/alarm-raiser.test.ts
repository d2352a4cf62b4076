/** Alarms with an event trail: span alarms (LOS/LOF/AIS/RAI) and the outbox bound (80 % / 60 %). */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { AlarmRaiser, OutboxBoundAlarm, SpanAlarms } from '../../../controller/fleet/alarm-raiser';
import type { AlarmBody } from '../../../controller/fleet/topics';
import type { JsonObject } from '../../../controller/store/json';
import { ManualClock } from '../../lib/manual-clock';

function harness(failAppend = false) {
  const retained = new Map<string, AlarmBody>();
  const events: { type: string | undefined; data: JsonObject }[] = [];
  let kicks = 0;
  const raiser = new AlarmRaiser({
    sink: { setAlarm: (id, a) => (a ? retained.set(id, a) : retained.delete(id)), kick: () => kicks++ },
    outbox: { append: (_t, data, type) => { if (failAppend) throw new Error('EOUTBOX_FULL'); events.push({ type, data }); } },
    clock: new ManualClock(1_767_000_000_000), log: nullLogger,
  });
  return { raiser, retained, events, kicks: () => kicks };
}

describe('fleet alarms', () => {
  it('span alarms raise and clear per defect, once each, with events/alarm', () => {
    const h = harness();
    const spans = new SpanAlarms(h.raiser);
    spans.update(1, ['LOS', 'RAI']);
    spans.update(1, ['LOS', 'RAI']);
    assert.deepEqual([...h.retained.keys()].sort(), ['span-1-los', 'span-1-rai']);
    assert.equal(h.retained.get('span-1-los')?.severity, 'major');
    assert.equal(h.retained.get('span-1-rai')?.severity, 'minor');
    spans.update(1, []);
    assert.equal(h.retained.size, 0);
    assert.deepEqual(h.events.map((e) => `${e.type}:${JSON.stringify(e.data['alarmId'])}`), ['alarm.raised:"span-1-los"', 'alarm.raised:"span-1-rai"', 'alarm.cleared:"span-1-los"', 'alarm.cleared:"span-1-rai"']);
    assert.equal(h.kicks(), 4);
  });

  it('outbox bound: raised at 80 %, kept until below 60 %', () => {
    const h = harness();
    const bound = new OutboxBoundAlarm(h.raiser);
    bound.check(79, 100);
    assert.equal(h.retained.size, 0);
    bound.check(80, 100);
    assert.match(h.retained.get('outbox-near-full')?.text ?? '', /80 unacknowledged events of 100/);
    bound.check(60, 100);
    assert.ok(h.raiser.isActive('outbox-near-full'), 'hysteresis: still active at 60 %');
    bound.check(59, 100);
    assert.equal(h.raiser.isActive('outbox-near-full'), false);
  });

  it('a full outbox does not stop the retained alarm', () => {
    const h = harness(true);
    new OutboxBoundAlarm(h.raiser).check(100, 100);
    assert.ok(h.retained.has('outbox-near-full'));
  });
});
