/**
 * Alarms with an event trail (DESIGN.md §6 `alarms/{id}` + `events/alarm`): `AlarmRaiser` sets the
 * retained alarm (empty payload clears) and appends `alarm.raised` / `alarm.cleared` to the outbox,
 * so the history survives a broker outage. Raising an active alarm or clearing an inactive one does
 * nothing. Two users here:
 *
 * - `SpanAlarms`: the card's span alarms (LOS, LOF, AIS, RAI; G.775 / T1.231 defects) become
 *   `span-{n}-{los|lof|ais|rai}` (major; RAI minor: the far end's problem, seen here).
 * - `OutboxBoundAlarm`: `outbox-near-full` (major) when unacknowledged events reach `raisePct` of the
 *   bound, cleared below `clearPct` (hysteresis). At the bound `Outbox.append` refuses new events
 *   with EOUTBOX_FULL, which rolls back the caller's transaction (docs/mqtt/README.md).
 */
import type { Clock } from '../../hw/base/clock';
import { errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { JsonObject } from '../store/json';
import type { AlarmBody, SpanAlarm } from './topics';

export interface AlarmSink {
  setAlarm(alarmId: string, alarm: AlarmBody | null): void;
  kick(): void;
}

export interface AlarmRaiserOptions {
  sink: AlarmSink;
  outbox: { append(topic: string, data: JsonObject, type?: string): unknown };
  clock: Clock;
  log: Logger;
}

export class AlarmRaiser {
  private readonly active = new Map<string, AlarmBody>();

  constructor(private readonly opts: AlarmRaiserOptions) {}

  isActive(alarmId: string): boolean {
    return this.active.has(alarmId);
  }

  get activeIds(): string[] {
    return [...this.active.keys()];
  }

  raise(alarmId: string, severity: AlarmBody['severity'], source: string, text: string): void {
    if (this.active.has(alarmId)) return;
    const body: AlarmBody = { alarmId, severity, source, raisedAt: this.opts.clock.now(), text };
    this.active.set(alarmId, body);
    this.opts.sink.setAlarm(alarmId, body);
    this.event('alarm.raised', { alarmId, severity, source, text });
  }

  clear(alarmId: string): void {
    const body = this.active.get(alarmId);
    if (!body) return;
    this.active.delete(alarmId);
    this.opts.sink.setAlarm(alarmId, null);
    this.event('alarm.cleared', { alarmId, severity: body.severity, source: body.source, raisedAt: body.raisedAt });
  }

  private event(type: string, data: JsonObject): void {
    try {
      this.opts.outbox.append('events/alarm', data, type);
      this.opts.sink.kick();
    } catch (err) {
      // The retained alarm is set either way; a full outbox must not hide the alarm about it.
      this.opts.log.warn('alarm event not recorded', { type, err: errorMessage(err) });
    }
  }
}

const SPAN_ALARMS: readonly SpanAlarm[] = ['LOS', 'LOF', 'AIS', 'RAI'];
const SPAN_ALARM_TEXT: Record<SpanAlarm, string> = {
  LOS: 'loss of signal',
  LOF: 'loss of frame alignment',
  AIS: 'alarm indication signal (all ones) received',
  RAI: 'remote alarm indication: the far end reports a problem',
};

export class SpanAlarms {
  constructor(private readonly raiser: AlarmRaiser) {}

  /** The span's current alarm set (from the card's `span-alarm` line event). */
  update(span: number, alarms: readonly SpanAlarm[]): void {
    for (const a of SPAN_ALARMS) {
      const id = `span-${span}-${a.toLowerCase()}`;
      if (alarms.includes(a)) this.raiser.raise(id, a === 'RAI' ? 'minor' : 'major', `span/${span}`, `span ${span}: ${a} (${SPAN_ALARM_TEXT[a]})`);
      else this.raiser.clear(id);
    }
  }
}

export const OUTBOX_ALARM_ID = 'outbox-near-full';

export class OutboxBoundAlarm {
  constructor(
    private readonly raiser: AlarmRaiser,
    private readonly raisePct = 80,
    private readonly clearPct = 60,
  ) {}

  /** Call with the current depth (every reporter poll). */
  check(depth: number, maxRows: number): void {
    const pct = (depth / maxRows) * 100;
    if (pct >= this.raisePct) {
      this.raiser.raise(OUTBOX_ALARM_ID, 'major', 'outbox', `outbox holds ${depth} unacknowledged events of ${maxRows} allowed (${Math.floor(pct)} %); at the bound new events are refused`);
    } else if (pct < this.clearPct) this.raiser.clear(OUTBOX_ALARM_ID);
  }
}
