/**
 * The card reset line: `pulse()` holds the card in reset for `pulseMs` then releases it, resolving
 * once released. One pulse at a time: a second call while one runs is refused.
 */
import type { Clock } from '../base/clock';
import { TonewallError } from '../base/errors';
import type { Logger } from '../base/logger';
import type { GpioLine } from './gpio-line';

export class CardResetLine {
  private busy = false;

  constructor(
    private readonly line: GpioLine,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly pulseMs: number,
  ) {
    line.write(0);
  }

  get resetting(): boolean {
    return this.busy;
  }

  pulse(): Promise<void> {
    if (this.busy) return Promise.reject(new TonewallError('GPIO_BUSY', `card reset already in progress (pulse of ${this.pulseMs} ms)`));
    this.busy = true;
    this.log.warn('card reset pulse', { pulseMs: this.pulseMs });
    this.line.write(1);
    return new Promise((resolve) => {
      this.clock.setTimeout(() => {
        this.line.write(0);
        this.busy = false;
        resolve();
      }, this.pulseMs);
    });
  }
}
