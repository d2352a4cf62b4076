/**
 * The envelope every JSON payload starts with (DESIGN.md §6, mqtt-fleet.md §7.1):
 *   { v: 1, ts, dev, boot, conn, seq }
 * - ts: ms since epoch (UTC) when the payload was built;
 * - boot: a UUID per process start;
 * - conn: the CONNECT counter, persisted and incremented on every CONNECT (Sparkplug's bdSeq): it
 *   tells a late last will from an older connection apart from the current session;
 * - seq: monotonic per boot, never wrapped, shared by every topic (the will consumes one too).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../hw/base/clock';

export interface Envelope {
  v: 1;
  ts: number;
  dev: string;
  boot: string;
  conn: number;
  seq: number;
}

export type Enveloped<B> = Envelope & B;

/** Hands out envelopes with a per-boot sequence. `conn` is set when a CONNECT is prepared. */
export class EnvelopeSource {
  readonly boot: string;
  conn = 0;
  private seq = 0;

  constructor(
    readonly dev: string,
    private readonly clock: Clock,
    boot: string = randomUUID(),
  ) {
    this.boot = boot;
  }

  /** The next envelope (seq + 1) stamped now, with the given or current conn. */
  next(conn: number = this.conn): Envelope {
    this.seq += 1;
    return { v: 1, ts: this.clock.now(), dev: this.dev, boot: this.boot, conn, seq: this.seq };
  }

  /** The last seq handed out (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Envelope fields first (key order), then the body's; a body cannot override envelope fields. */
  wrap<B extends object>(body: B, conn?: number): Enveloped<B> {
    const env = this.next(conn);
    return Object.assign({}, env, body, env);
  }
}
