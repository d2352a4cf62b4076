/**
 * The real serial binding (@serialport/bindings-cpp) for tty devices: a card on /dev/ttyACM* or
 * /dev/ttyAMA*, or a pty. Loaded on first use so code that never opens a tty never loads the
 * native module.
 */
import type { BindingInterface } from '@serialport/bindings-interface';

export async function loadSerialBinding(): Promise<BindingInterface> {
  const m = await import('@serialport/bindings-cpp');
  return m.autoDetect();
}
