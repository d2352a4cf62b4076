/**
 * The board's I/O (DESIGN.md §3 hw/gpio): transfer relay, status LEDs, card reset line, front
 * button and tamper switch, each on a line from config (`gpio.lines`; a missing line = the board
 * lacks it). The daemon tells it what is true (healthy, trunk alarm, secure session); it tells the
 * daemon what the user or the enclosure did (factory reset confirmed, tamper).
 *
 * LEDs: power = blink-slow while starting or unhealthy, heartbeat while healthy, blink-fast while a
 * factory reset waits for confirmation; trunk alarm = on while any span/port alarm is active;
 * secure = on while a payment (secure) session is active.
 * Tamper: an opened enclosure raises a critical alarm through `onTamper(true)` (and clears with
 * `onTamper(false)` when closed); active at start counts as an opening.
 */
import type { Clock } from '../base/clock';
import { TonewallError } from '../base/errors';
import type { Logger } from '../base/logger';
import { TypedEmitter } from '../base/typed-emitter';
import { CardResetLine } from './card-reset';
import { DebouncedInput } from './debounced-input';
import { FrontButton } from './front-button';
import type { GpioConfig, GpioLineConfig } from './gpio-config';
import type { GpioBackend, GpioLine, GpioLineSpec } from './gpio-line';
import { LedDriver, type LedPattern } from './led-pattern';
import { TransferRelay } from './transfer-relay';

type BoardEvents = {
  'short-press': [];
  'factory-reset-armed': [];
  'factory-reset-confirmed': [];
  'factory-reset-cancelled': [];
  tamper: [boolean];
};

export interface BoardIoOptions {
  backend: GpioBackend;
  config: GpioConfig;
  clock: Clock;
  log: Logger;
  /** Critical alarm hook: true when the enclosure opens, false when it closes again. */
  onTamper?: (active: boolean) => void;
  /** Called once a factory reset is confirmed (long press, then a short press within the window). */
  onFactoryReset?: () => void;
}

export interface BoardIoHealth {
  backend: string;
  relayEnergised: boolean;
  tamper: boolean;
  leds: { power: LedPattern | null; trunkAlarm: LedPattern | null; secure: LedPattern | null };
  lines: string[];
}

export class BoardIo extends TypedEmitter<BoardEvents> {
  private readonly opts: BoardIoOptions;
  private readonly log: Logger;
  private readonly lines: GpioLine[] = [];
  private relay: TransferRelay | undefined;
  private power: LedDriver | undefined;
  private trunk: LedDriver | undefined;
  private secure: LedDriver | undefined;
  private reset: CardResetLine | undefined;
  private button: FrontButton | undefined;
  private inputs: DebouncedInput[] = [];
  private healthy = false;
  private tamperActive = false;
  private started = false;

  constructor(options: BoardIoOptions) {
    super();
    this.opts = options;
    this.log = options.log.child('board');
  }

  /** Opens every configured line: relay released, power LED blinking slowly (starting). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const { config: c, clock } = this.opts;
    const out = (name: string, cfg: GpioLineConfig | undefined): GpioLine | undefined => (cfg ? this.open({ name, line: cfg.line, activeLow: cfg.activeLow, direction: 'out', initial: 0 }) : undefined);
    const input = (name: string, cfg: GpioLineConfig | undefined): GpioLine | undefined => (cfg ? this.open({ name, line: cfg.line, activeLow: cfg.activeLow, direction: 'in', edge: 'both' }) : undefined);
    try {
      const relay = out('transfer-relay', c.lines.transferRelay);
      if (relay) this.relay = new TransferRelay({ line: relay, clock, log: this.log, drive: c.relayDrive, pulseMs: c.relayPulseMs });
      const led = (name: string, cfg: GpioLineConfig | undefined): LedDriver | undefined => {
        const l = out(name, cfg);
        return l ? new LedDriver(l, clock) : undefined;
      };
      this.power = led('led-power', c.lines.ledPower);
      this.trunk = led('led-trunk-alarm', c.lines.ledTrunkAlarm);
      this.secure = led('led-secure', c.lines.ledSecure);
      const reset = out('card-reset', c.lines.cardReset);
      if (reset) this.reset = new CardResetLine(reset, clock, this.log, c.cardResetPulseMs);
      const button = input('button', c.lines.button);
      if (button) this.startButton(button);
      const tamper = input('tamper', c.lines.tamper);
      if (tamper) this.startTamper(tamper);
    } catch (err) {
      this.stop();
      throw err;
    }
    this.refreshPowerLed();
  }

  setHealthy(healthy: boolean): void {
    this.healthy = healthy;
    this.relay?.setHealthy(healthy);
    this.refreshPowerLed();
  }

  setTrunkAlarm(active: boolean): void {
    this.trunk?.set(active ? 'on' : 'off');
  }

  setSecureSession(active: boolean): void {
    this.secure?.set(active ? 'on' : 'off');
  }

  /** Pulses the card reset line; rejects when the board has none or a pulse is running. */
  resetCard(): Promise<void> {
    if (!this.reset) return Promise.reject(new TonewallError('GPIO_NO_LINE', 'card reset requested but gpio.lines.cardReset is not configured'));
    return this.reset.pulse();
  }

  get tamper(): boolean {
    return this.tamperActive;
  }

  health(): BoardIoHealth {
    return {
      backend: this.opts.backend.kind,
      relayEnergised: this.relay?.energised ?? false,
      tamper: this.tamperActive,
      leds: { power: this.power?.current ?? null, trunkAlarm: this.trunk?.current ?? null, secure: this.secure?.current ?? null },
      lines: this.lines.map((l) => `${l.spec.name}:${l.spec.line}`),
    };
  }

  /** Relay released, LEDs dark, lines closed. Safe to call more than once. */
  stop(): void {
    this.relay?.stop();
    for (const i of this.inputs) i.stop();
    this.button?.stop();
    for (const led of [this.power, this.trunk, this.secure]) led?.stop();
    for (const l of this.lines.splice(0)) l.close();
    this.inputs = [];
    this.started = false;
  }

  private open(spec: GpioLineSpec): GpioLine {
    const line = this.opts.backend.open(spec);
    this.lines.push(line);
    return line;
  }

  private refreshPowerLed(): void {
    if (this.button?.state === 'armed-held' || this.button?.state === 'awaiting-confirm') return this.power?.set('blink-fast');
    this.power?.set(this.healthy ? 'heartbeat' : 'blink-slow');
  }

  private startButton(line: GpioLine): void {
    const c = this.opts.config;
    const button = new FrontButton({ clock: this.opts.clock, log: this.log, longPressMs: c.longPressMs, confirmWindowMs: c.confirmWindowMs });
    this.button = button;
    button.on('short-press', () => this.emit('short-press'));
    button.on('factory-reset-armed', () => {
      this.refreshPowerLed();
      this.emit('factory-reset-armed');
    });
    button.on('factory-reset-cancelled', () => {
      this.refreshPowerLed();
      this.emit('factory-reset-cancelled');
    });
    button.on('factory-reset-confirmed', () => {
      this.refreshPowerLed();
      this.emit('factory-reset-confirmed');
      this.opts.onFactoryReset?.();
    });
    const input = new DebouncedInput(line, this.opts.clock, c.debounceMs, (v) => button.level(v === 1));
    this.inputs.push(input);
    input.start();
  }

  private startTamper(line: GpioLine): void {
    const set = (active: boolean): void => {
      if (active === this.tamperActive) return;
      this.tamperActive = active;
      if (active) this.log.error('tamper: enclosure opened');
      else this.log.warn('tamper: enclosure closed');
      this.emit('tamper', active);
      this.opts.onTamper?.(active);
    };
    const input = new DebouncedInput(line, this.opts.clock, this.opts.config.debounceMs, (v) => set(v === 1));
    this.inputs.push(input);
    input.start();
    if (input.value === 1) set(true);
  }
}
