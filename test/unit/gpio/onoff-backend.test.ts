/** OnoffBackend: maps our GpioLineSpec onto onoff's Gpio (recorded by a fake Gpio class). */
import assert from 'node:assert/strict';
import type { BitValue } from '../../../hw/gpio/gpio-line';
import { OnoffBackend, type OnoffGpio } from '../../../hw/gpio/onoff-backend';

interface Made {
  args: unknown[];
  writes: BitValue[];
  unexported: boolean;
  watchers: ((err: Error | null | undefined, v: BitValue) => void)[];
}

function fakeOnoff(failOn?: number) {
  const made: Made[] = [];
  class Gpio implements OnoffGpio {
    private readonly m: Made;
    constructor(...args: unknown[]) {
      if (args[0] === failOn) throw new Error("EACCES: permission denied, open '/sys/class/gpio/export'");
      this.m = { args, writes: [], unexported: false, watchers: [] };
      made.push(this.m);
    }
    readSync(): BitValue {
      return 1;
    }
    writeSync(v: BitValue): void {
      this.m.writes.push(v);
    }
    watch(cb: (err: Error | null | undefined, v: BitValue) => void): void {
      this.m.watchers.push(cb);
    }
    unwatch(cb?: (err: Error | null | undefined, v: BitValue) => void): void {
      this.m.watchers = cb ? this.m.watchers.filter((w) => w !== cb) : [];
    }
    unexport(): void {
      this.m.unexported = true;
    }
  }
  return { Gpio, made };
}

describe('gpio: OnoffBackend', () => {
  it('opens outputs with their initial level and inputs with edges and polarity', () => {
    const { Gpio, made } = fakeOnoff();
    const b = new OnoffBackend(Gpio);
    b.open({ name: 'relay', line: 512, direction: 'out' });
    b.open({ name: 'led', line: 513, direction: 'out', initial: 1, activeLow: true });
    b.open({ name: 'button', line: 515, direction: 'in', activeLow: true });
    assert.deepEqual(made.map((m) => m.args), [
      [512, 'low', 'none', { activeLow: false, reconfigureDirection: true }],
      [513, 'high', 'none', { activeLow: true, reconfigureDirection: true }],
      [515, 'in', 'both', { activeLow: true, reconfigureDirection: true }],
    ]);
  });

  it('delivers edges, reports watch errors, and drives outputs low on close', () => {
    const { Gpio, made } = fakeOnoff();
    const errors: string[] = [];
    const b = new OnoffBackend(Gpio, (name, err) => errors.push(`${name}: ${err.message}`));
    const input = b.open({ name: 'tamper', line: 518, direction: 'in' });
    const seen: BitValue[] = [];
    const stop = input.watch((v) => seen.push(v));
    made[0]?.watchers[0]?.(null, 1);
    made[0]?.watchers[0]?.(new Error('EIO'), 0);
    stop();
    assert.deepEqual(seen, [1]);
    assert.deepEqual(errors, ['tamper: EIO']);
    assert.equal(made[0]?.watchers.length, 0);
    const out = b.open({ name: 'relay', line: 512, direction: 'out' });
    out.write(1);
    out.close();
    assert.deepEqual(made[1]?.writes, [1, 0]);
    assert.equal(made[1]?.unexported, true);
    assert.throws(() => out.write(1), /closed GPIO 512 \(relay\)/);
  });

  it('refuses writes to inputs and watches on outputs; wraps open failures with the line', () => {
    const { Gpio } = fakeOnoff(600);
    const b = new OnoffBackend(Gpio);
    assert.throws(() => b.open({ name: 'relay', line: 512, direction: 'in' }).write(1), /write on input GPIO 512/);
    assert.throws(() => b.open({ name: 'led', line: 513, direction: 'out' }).watch(() => undefined), /watch on output GPIO 513/);
    assert.throws(() => b.open({ name: 'relay', line: 600, direction: 'out' }), /cannot open GPIO 600 \(relay\) as out: EACCES/);
  });
});
