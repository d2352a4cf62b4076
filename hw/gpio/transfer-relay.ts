/**
 * The power-fail transfer relay: while energised the analog ports are on tonewall; released, they
 * fall back to the lifeline path (straight through to the PSTN). It is energised ONLY while
 * tonewall reports itself healthy, so a power cut, a crash, a stop or an unhealthy daemon all
 * transfer the lines by themselves.
 *
 * Drive modes (config gpio.relayDrive):
 *   level  the line is held at 1 while healthy. A crashed process leaves a sysfs output as it was,
 *          so the unit's stop path must release it too (see docs/appliance.md).
 *   pulse  the line toggles every `pulseMs` while healthy, for a charge-pump relay driver that drops
 *          out by itself when the toggling stops: a hung or killed process transfers with no help.
 */
import type { Clock, TimerHandle } from '../base/clock';
import type { Logger } from '../base/logger';
import type { BitValue, GpioLine } from './gpio-line';

export interface TransferRelayOptions {
  line: GpioLine;
  clock: Clock;
  log: Logger;
  drive: 'level' | 'pulse';
  pulseMs: number;
}

export class TransferRelay {
  private healthy = false;
  private stopped = false;
  private timer: TimerHandle | undefined;
  private level: BitValue = 0;
  private readonly log: Logger;

  constructor(private readonly opts: TransferRelayOptions) {
    this.log = opts.log.child('relay');
    this.drive(0);
  }

  /** True while the relay is driven (lines on tonewall). */
  get energised(): boolean {
    return this.healthy && !this.stopped;
  }

  setHealthy(healthy: boolean): void {
    if (this.stopped || healthy === this.healthy) return;
    this.healthy = healthy;
    this.log.info(healthy ? 'relay energised: analog lines on tonewall' : 'relay released: analog lines on the lifeline path');
    this.timer?.cancel();
    this.timer = undefined;
    if (!healthy) return this.drive(0);
    this.drive(1);
    if (this.opts.drive === 'pulse') this.timer = this.opts.clock.setInterval(() => this.drive(this.level === 1 ? 0 : 1), this.opts.pulseMs);
  }

  /** Releases for good (daemon stopping). */
  stop(): void {
    this.setHealthy(false);
    this.stopped = true;
  }

  private drive(v: BitValue): void {
    this.level = v;
    this.opts.line.write(v);
  }
}
