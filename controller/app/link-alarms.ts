/**
 * Link alarms (DESIGN.md §6 `alarms/{id}`): the card link and each span's D-channel. Raised when a
 * link that should be up is down, cleared when it comes back; each change goes to the fleet as a
 * retained `alarms/{id}` (empty payload clears) and to the board's trunk-alarm LED.
 *
 * Ids: `card-link` (major: no calls in or out while it lasts), `span-{n}-dchannel` (major: that
 * span's calls are lost). A link that has never been up is alarmed only after `graceMs`, so a
 * normal start-up raises nothing.
 */
import type { Clock, TimerHandle } from '../../hw/base/clock';
import type { AlarmBody } from '../fleet/topics';

export interface LinkAlarmsOptions {
  clock: Clock;
  alarms: { setAlarm(alarmId: string, alarm: AlarmBody | null): void };
  /** The board's trunk-alarm LED (and anything else following link alarms). */
  onChange?: (alarmId: string, active: boolean) => void;
  /** How long the card link may take to come up at start before it is alarmed (ms). */
  graceMs: number;
}

export class LinkAlarms {
  private readonly active = new Map<string, AlarmBody>();
  private graceTimer: TimerHandle | undefined;
  private cardUp = false;

  constructor(private readonly opts: LinkAlarmsOptions) {}

  /** Starts the grace period for the first card link. */
  start(): void {
    this.graceTimer = this.opts.clock.setTimeout(() => {
      this.graceTimer = undefined;
      if (!this.cardUp) this.raise('card-link', 'card', 'the telephony card link has not come up since start');
    }, this.opts.graceMs);
  }

  cardLink(up: boolean, reason = ''): void {
    this.cardUp = up;
    if (up) {
      this.graceTimer?.cancel();
      this.graceTimer = undefined;
      this.clear('card-link');
    } else if (!this.graceTimer) {
      this.raise('card-link', 'card', `the telephony card link is down${reason ? `: ${reason}` : ''}`);
    }
  }

  dchannel(span: number, up: boolean): void {
    const id = `span-${span}-dchannel`;
    if (up) this.clear(id);
    else this.raise(id, `span/${span}`, `span ${span} D-channel is down (Q.921 data link not established)`);
  }

  /** The ids of the alarms active now. */
  get activeIds(): string[] {
    return [...this.active.keys()];
  }

  stop(): void {
    this.graceTimer?.cancel();
    this.graceTimer = undefined;
  }

  private raise(alarmId: string, source: string, text: string): void {
    if (this.active.has(alarmId)) return;
    const body: AlarmBody = { alarmId, severity: 'major', source, raisedAt: this.opts.clock.now(), text };
    this.active.set(alarmId, body);
    this.opts.alarms.setAlarm(alarmId, body);
    this.opts.onChange?.(alarmId, true);
  }

  private clear(alarmId: string): void {
    if (!this.active.delete(alarmId)) return;
    this.opts.alarms.setAlarm(alarmId, null);
    this.opts.onChange?.(alarmId, false);
  }
}
