/**
 * The board's I/O in the running appliance (issue 8, docs/appliance.md): builds `BoardIo`
 * (hw/gpio) from the `gpio` config slice and keeps it true to what the daemon knows.
 *
 * - Transfer relay and power LED follow the watchdog's health verdict (`setHealthy`): the relay is
 *   energised only while healthy, so an unhealthy, hung, crashed or stopped daemon hands the analog
 *   lines to the lifeline path (with `relayDrive: pulse` even a SIGKILL drops it, because the
 *   toggling stops).
 * - Trunk-alarm LED: on while any link alarm is active (card link down, a D-channel down); the
 *   alarms themselves go to the fleet as `alarms/{id}` (`LinkAlarms`).
 * - Secure LED: on while any payment session is active on the appliance.
 * - Tamper switch: a critical `alarms/tamper` while the enclosure is open.
 * - Front button: a confirmed factory reset (long press, then a short press within the window)
 *   calls `onFactoryReset`.
 *
 * A line that cannot be opened raises `alarms/board-gpio` (major) and leaves the board dark; calls
 * go on.
 *
 * With `gpio.enabled` false (the default, and every non-board machine) nothing is opened and the
 * methods only keep state.
 */
import type { Clock } from '../../hw/base/clock';
import { errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { BoardIo, type BoardIoHealth } from '../../hw/gpio/board-io';
import type { GpioConfig } from '../../hw/gpio/gpio-config';
import type { GpioBackend } from '../../hw/gpio/gpio-line';
import { OnoffBackend, type OnoffGpioClass } from '../../hw/gpio/onoff-backend';
import type { AlarmBody } from '../fleet/topics';

export interface AlarmSink {
  setAlarm(alarmId: string, alarm: AlarmBody | null): void;
}

export interface ApplianceBoardOptions {
  config: GpioConfig;
  log: Logger;
  clock: Clock;
  alarms: AlarmSink;
  /** The GPIO backend; default: onoff over sysfs (loaded only when gpio is enabled). */
  backend?: GpioBackend;
  onFactoryReset: () => void;
}

/** onoff's Gpio class, loaded lazily: it opens /sys/class/gpio and needs Linux's epoll. */
function sysfsBackend(log: Logger): GpioBackend {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only on a board with gpio enabled
  const onoff = require('onoff') as { Gpio: OnoffGpioClass };
  return new OnoffBackend(onoff.Gpio, (line, err) => log.error('gpio watch failed', { line, err: err.message }));
}

export class ApplianceBoard {
  private io: BoardIo | undefined;
  private readonly log: Logger;
  private readonly activePayments = new Set<string>();
  private readonly linkAlarms = new Set<string>();

  constructor(private readonly opts: ApplianceBoardOptions) {
    this.log = opts.log.child('board');
  }

  /** Opens the configured lines (relay released, power LED "starting"); no-op when gpio is disabled. */
  start(): void {
    const c = this.opts.config;
    if (!c.enabled) return;
    const io = new BoardIo({
      backend: this.opts.backend ?? sysfsBackend(this.log),
      config: c,
      clock: this.opts.clock,
      log: this.opts.log,
      onTamper: (open) => this.tamper(open),
      onFactoryReset: () => {
        this.log.warn('factory reset confirmed on the front panel');
        this.opts.onFactoryReset();
      },
    });
    io.on('factory-reset-armed', () => this.log.warn('factory reset armed: press the button again within the confirmation window'));
    io.on('factory-reset-cancelled', () => this.log.info('factory reset cancelled'));
    try {
      io.start();
    } catch (err) {
      // Calls still flow without the board's I/O (the relay stays released: lifeline path), so
      // this is an alarm, not a start-up failure.
      this.log.error('board I/O unavailable', { err: errorMessage(err) });
      this.opts.alarms.setAlarm('board-gpio', { alarmId: 'board-gpio', severity: 'major', source: 'board', raisedAt: this.opts.clock.now(), text: `board I/O unavailable: ${errorMessage(err)}` });
      return;
    }
    this.io = io;
    this.refresh();
  }

  /** The watchdog's verdict: relay energised and power LED heartbeat only while true. */
  setHealthy(healthy: boolean): void {
    this.io?.setHealthy(healthy);
  }

  /** A link alarm (card link, a D-channel) became active or cleared: drives the trunk-alarm LED. */
  setLinkAlarm(alarmId: string, active: boolean): void {
    if (active) this.linkAlarms.add(alarmId);
    else this.linkAlarms.delete(alarmId);
    this.refresh();
  }

  /** A payment session started (`active`) or ended: drives the secure LED. */
  setPaymentActive(sessionId: string, active: boolean): void {
    if (active) this.activePayments.add(sessionId);
    else this.activePayments.delete(sessionId);
    this.refresh();
  }

  get securePayments(): number {
    return this.activePayments.size;
  }

  /** Pulses the card's reset line (rejects when the board has none). */
  resetCard(): Promise<void> {
    if (!this.io) return Promise.reject(new Error('card reset requested but gpio is not enabled'));
    return this.io.resetCard();
  }

  health(): BoardIoHealth | undefined {
    return this.io?.health();
  }

  /** Relay released, LEDs dark, lines closed. */
  stop(): void {
    this.io?.setHealthy(false);
    this.io?.stop();
    this.io = undefined;
  }

  private refresh(): void {
    this.io?.setTrunkAlarm(this.linkAlarms.size > 0);
    this.io?.setSecureSession(this.activePayments.size > 0);
  }

  private tamper(open: boolean): void {
    this.opts.alarms.setAlarm(
      'tamper',
      open ? { alarmId: 'tamper', severity: 'critical', source: 'board', raisedAt: this.opts.clock.now(), text: 'the enclosure was opened (tamper switch)' } : null,
    );
  }
}
