/**
 * A real pty pair for card-link integration tests: `socat pty,raw,echo=0,link=<dir>/card
 * pty,raw,echo=0,link=<dir>/host`. The driver opens the host end with the real bindings-cpp
 * binding; the test's peer opens the card end (openPtyPeer) and speaks through the FakeCard.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPortStream } from '@serialport/stream';
import { loadSerialBinding } from '../../hw/card/serial-binding';
import type { FakeCard } from './link-fake-card';

export interface PtyPair {
  hostPath: string;
  cardPath: string;
  stop(): Promise<void>;
}

/** Polls `cond` every 10 ms for at most `limitMs` (a bound on waiting, not a timing assertion). */
export async function waitUntil(cond: () => boolean, what: string, limitMs = 5000): Promise<void> {
  for (let waited = 0; waited <= limitMs; waited += 10) {
    if (cond()) return;
    await new Promise<void>((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up after ${limitMs} ms waiting for ${what}`);
}

export async function startPtyPair(dir: string): Promise<PtyPair> {
  const cardPath = join(dir, 'card');
  const hostPath = join(dir, 'host');
  const child: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${cardPath}`, `pty,raw,echo=0,link=${hostPath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = false;
  child.on('exit', () => (exited = true));
  child.stderr?.resume();
  await waitUntil(() => exited || (existsSync(cardPath) && existsSync(hostPath)), 'socat to create the pty links');
  if (exited) throw new Error('socat exited before creating the pty pair');
  return {
    hostPath,
    cardPath,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Opens the card end of the pty with serialport and wires it to the fake card. */
export async function openPtyPeer(path: string, fake: FakeCard): Promise<SerialPortStream> {
  const binding = await loadSerialBinding();
  const port = new SerialPortStream({ binding, path, baudRate: 921600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  fake.attach({ send: (bytes) => void port.write(Buffer.from(bytes)) });
  port.on('data', (chunk: Buffer) => fake.feed(chunk));
  port.on('error', () => undefined);
  return port;
}

export function closePort(port: SerialPortStream): Promise<void> {
  return new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
}
