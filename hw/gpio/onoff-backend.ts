/**
 * The sysfs GPIO backend over onoff (/sys/class/gpio; the unit grants the gpio group access and a
 * read-write view of /sys/class/gpio). onoff's Gpio class is injected so this shell is testable.
 */
import { TonewallError, errorMessage } from '../base/errors';
import type { BitValue, GpioBackend, GpioLine, GpioLineSpec } from './gpio-line';

/** The part of onoff's Gpio this backend uses (onoff.d.ts). */
export interface OnoffGpio {
  readSync(): BitValue;
  writeSync(value: BitValue): void;
  watch(cb: (err: Error | null | undefined, value: BitValue) => void): void;
  unwatch(cb?: (err: Error | null | undefined, value: BitValue) => void): void;
  unexport(): void;
}

export type OnoffGpioClass = new (gpio: number, direction: 'in' | 'out' | 'high' | 'low', edge?: 'none' | 'rising' | 'falling' | 'both', options?: { activeLow?: boolean; reconfigureDirection?: boolean }) => OnoffGpio;

export class OnoffBackend implements GpioBackend {
  readonly kind = 'sysfs';

  /** `gpioClass`: onoff's `Gpio` (`require('onoff').Gpio`); `onError` sees watch errors. */
  constructor(
    private readonly gpioClass: OnoffGpioClass,
    private readonly onError: (lineName: string, err: Error) => void = () => undefined,
  ) {}

  open(spec: GpioLineSpec): GpioLine {
    const dir = spec.direction === 'in' ? 'in' : (spec.initial ?? 0) === 1 ? 'high' : 'low';
    let gpio: OnoffGpio;
    try {
      gpio = new this.gpioClass(spec.line, dir, spec.direction === 'in' ? (spec.edge ?? 'both') : 'none', { activeLow: spec.activeLow ?? false, reconfigureDirection: true });
    } catch (err) {
      throw new TonewallError('GPIO_OPEN', `cannot open GPIO ${spec.line} (${spec.name}) as ${spec.direction}: ${errorMessage(err)}`);
    }
    let closed = false;
    const alive = (what: string): void => {
      if (closed) throw new TonewallError('GPIO_CLOSED', `${what} on closed GPIO ${spec.line} (${spec.name})`);
    };
    return {
      spec,
      read: () => (alive('read'), gpio.readSync()),
      write: (v) => {
        alive('write');
        if (spec.direction !== 'out') throw new TonewallError('GPIO_DIRECTION', `write on input GPIO ${spec.line} (${spec.name}), expected an output`);
        gpio.writeSync(v);
      },
      watch: (cb) => {
        alive('watch');
        if (spec.direction !== 'in') throw new TonewallError('GPIO_DIRECTION', `watch on output GPIO ${spec.line} (${spec.name}), expected an input`);
        const handler = (err: Error | null | undefined, v: BitValue): void => (err ? this.onError(spec.name, err) : cb(v));
        gpio.watch(handler);
        return () => gpio.unwatch(handler);
      },
      close: () => {
        if (closed) return;
        if (spec.direction === 'out') gpio.writeSync(0);
        gpio.unwatch();
        gpio.unexport();
        closed = true;
      },
    };
  }
}
