/**
 * A minimal HOST side of the card link for the simulator's tests, written on the shared hw/link
 * codec: it says hello, sends commands and PCM, and records every message the card sent.
 * Also an in-memory duplex pair so unit tests can attach a SimCard without any socket.
 */
import { Duplex, PassThrough } from 'node:stream';
import { FrameDecoder, FrameEncoder, type LinkMessage, type LinkMessageOf, type MessageType } from '../../hw/link';
import type { HookCommand } from '../../hw/card/types';

export function duplexPair(): { host: Duplex; card: Duplex } {
  const toCard = new PassThrough();
  const toHost = new PassThrough();
  return { host: Duplex.from({ readable: toHost, writable: toCard }), card: Duplex.from({ readable: toCard, writable: toHost }) };
}

/** Lets queued stream callbacks run (in-memory streams deliver on later ticks). */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export class TestHost {
  readonly received: LinkMessage[] = [];
  readonly raw: Buffer[] = [];
  private readonly encoder = new FrameEncoder();
  readonly decoder = new FrameDecoder();
  private nextRequestId = 1;
  private waiters: { pred: (m: LinkMessage) => boolean; resolve: (m: LinkMessage) => void }[] = [];

  constructor(private readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer) => {
      this.raw.push(chunk);
      for (const f of this.decoder.push(chunk)) {
        this.received.push(f.message);
        for (const w of [...this.waiters]) {
          if (w.pred(f.message)) {
            this.waiters = this.waiters.filter((x) => x !== w);
            w.resolve(f.message);
          }
        }
      }
    });
  }

  send(msg: LinkMessage): void {
    this.stream.write(this.encoder.encode(msg));
  }

  writeRaw(bytes: Uint8Array): void {
    this.stream.write(bytes);
  }

  hello(): void {
    this.send({ type: 'host-hello', protocolMin: 1, protocolMax: 1, softwareVersion: 'test-host 0' });
  }

  /** Sends a hook command; returns its request id. */
  command(command: HookCommand): number {
    const requestId = this.nextRequestId++;
    this.send({ type: 'hook-command', requestId, command });
    return requestId;
  }

  of<T extends MessageType>(type: T): LinkMessageOf<T>[] {
    return this.received.filter((m): m is LinkMessageOf<T> => m.type === type);
  }

  /** Resolves with the first message (already received or future) matching; rejects after timeoutMs naming what was awaited. */
  waitFor<T extends MessageType>(type: T, pred: (m: LinkMessageOf<T>) => boolean = () => true, timeoutMs = 5000, what: string = type): Promise<LinkMessageOf<T>> {
    const test = (m: LinkMessage): m is LinkMessageOf<T> => m.type === type && pred(m as LinkMessageOf<T>);
    const have = this.received.find(test);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = (m: LinkMessage): void => {
        clearTimeout(timer);
        resolve(m as LinkMessageOf<T>);
      };
      this.waiters.push({ pred: test, resolve: done });
    });
  }

  /** All PCM bytes the card sent for one channel, in order. */
  pcmFor(channel: number): Buffer {
    const parts: Buffer[] = [];
    for (const m of this.of('pcm')) for (const c of m.chunks) if (c.channel === channel) parts.push(c.data);
    return Buffer.concat(parts);
  }

  private keepaliveTimer: NodeJS.Timeout | undefined;

  /** Sends a keepalive every `ms` (real time) until stopKeepalives() or close(). */
  startKeepalives(ms: number): void {
    this.stopKeepalives();
    this.keepaliveTimer = setInterval(() => this.send({ type: 'keepalive' }), ms);
  }

  stopKeepalives(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  close(): void {
    this.stopKeepalives();
    this.stream.destroy();
  }
}
