/**
 * Moves events from the SQLite outbox to the broker (DESIGN.md §2 "Reporting", §6 `events/{type}`).
 *
 * Contract:
 * - Only while a session is active (`onConnected` … `onDisconnected`). At most `window` events in
 *   flight, sent in seq order. A PUBACK frees its window slot at once; its store acknowledgement is
 *   batched: PUBACKed seqs are collected and committed in ONE transaction (`Outbox.ackMany`, one
 *   fsync) when `ackBatch.maxAcks` have gathered or `ackBatch.maxDelayMs` after the first, whichever
 *   comes first, and always before the cursor restarts (reconnect, retry) and on disconnect.
 *   `onAcked` fires after that commit. A crash loses only the uncommitted acknowledgements: those
 *   events are still pending in the store and are sent again by the next run (at-least-once;
 *   consumers dedupe by id). No event is ever marked acknowledged before its PUBACK.
 * - On a new session the cursor restarts at the oldest unacked event: whatever was in flight when
 *   the last session died goes out again (at-least-once; consumers dedupe by id).
 * - `historical` is true for events whose seq is at or below the outbox's last seq at CONNACK:
 *   they were created before this connection existed (while offline, or on an older connection).
 * - A failed publish (PUBACK error, connection closing) stops sending until the next `poll()`; the
 *   event stays pending. An event the guard refuses cannot ever be sent: it is marked acked so it
 *   cannot block the queue, counted in `refused`, and logged by seq and id (never by content).
 * - Callbacks from an older session are ignored (session epoch).
 */
import type { Clock, TimerHandle } from '../../hw/base/clock';
import { errorCode, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { OutboxEvent } from '../store/outbox';
import type { Store } from '../store/store';

export type PublishEventFn = (event: OutboxEvent, historical: boolean) => Promise<void>;

/** Ack batching bounds: commit after this many PUBACKs or this long after the first (ms). */
export interface AckBatchOptions {
  maxAcks: number;
  maxDelayMs: number;
}

/** 64 acks or 20 ms: a backlog drain commits ~1 fsync per 64 events; a lone event waits ≤ 20 ms. */
export const DEFAULT_ACK_BATCH: AckBatchOptions = { maxAcks: 64, maxDelayMs: 20 };

export interface OutboxPumpOptions {
  store: Store;
  log: Logger;
  /** Arms the ack-batch timer. */
  clock: Clock;
  /** Default DEFAULT_ACK_BATCH; `{ maxAcks: 1, … }` commits every PUBACK on its own. */
  ackBatch?: AckBatchOptions;
  publish: PublishEventFn;
  /** Events in flight at once (1 = strictly one at a time). */
  window: number;
  /** Called after each acked event (e.g. for tests and metrics). */
  onAcked?: (event: OutboxEvent, historical: boolean) => void;
}

export class OutboxPump {
  readonly counters = { published: 0, historical: 0, failed: 0, refused: 0 };
  private epoch = 0;
  private active = false;
  private blocked = false;
  private cursorSeq = 0;
  private historicalUpToSeq = 0;
  private readonly inflight = new Set<number>();
  /** PUBACKed (or guard-refused) events whose acknowledgement is not yet committed, in order. */
  private readonly ackQueue: { ev: OutboxEvent; historical: boolean; refused: boolean }[] = [];
  private ackTimer: TimerHandle | undefined;
  private readonly ackBatch: AckBatchOptions;

  constructor(private readonly opts: OutboxPumpOptions) {
    const b = opts.ackBatch ?? DEFAULT_ACK_BATCH;
    this.ackBatch = { maxAcks: Math.max(1, Math.floor(b.maxAcks)), maxDelayMs: Math.max(0, b.maxDelayMs) };
  }

  /** PUBACKed events whose acknowledgement is not committed yet. */
  get acksPending(): number {
    return this.ackQueue.length;
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  onConnected(): void {
    this.flushAcks();
    this.epoch++;
    this.active = true;
    this.blocked = false;
    this.inflight.clear();
    this.cursorSeq = 0;
    this.historicalUpToSeq = this.opts.store.outbox.lastSeq();
    this.kick();
  }

  onDisconnected(): void {
    this.flushAcks();
    this.epoch++;
    this.active = false;
    this.inflight.clear();
  }

  /**
   * Commits the collected acknowledgements in one transaction, then reports them (`onAcked`). On a
   * store error they stay pending in the store: sent again on the next session (at-least-once).
   */
  flushAcks(): void {
    this.ackTimer?.cancel();
    this.ackTimer = undefined;
    if (this.ackQueue.length === 0) return;
    const batch = this.ackQueue.splice(0);
    try {
      this.opts.store.outbox.ackMany(batch.map((a) => a.ev.seq));
    } catch (err) {
      this.opts.log.warn('committing outbox acknowledgements failed; the events will be sent again', { events: batch.length, err: errorMessage(err) });
      return;
    }
    for (const a of batch) if (!a.refused) this.opts.onAcked?.(a.ev, a.historical);
  }

  private queueAck(ev: OutboxEvent, historical: boolean, refused = false): void {
    this.ackQueue.push({ ev, historical, refused });
    if (this.ackQueue.length >= this.ackBatch.maxAcks) this.flushAcks();
    else this.ackTimer ??= this.opts.clock.setTimeout(() => {
      this.ackTimer = undefined;
      this.flushAcks();
    }, this.ackBatch.maxDelayMs);
  }

  /** Backstop timer tick: lifts a failure block and sends what is pending. */
  poll(): void {
    this.blocked = false;
    this.kick();
  }

  /** Sends pending events up to the window. Cheap when there is nothing to do. */
  kick(): void {
    if (!this.active || this.blocked) return;
    if (this.cursorSeq < 0 && this.inflight.size === 0) {
      // Restarting from the oldest pending: acknowledged events must be committed first.
      this.flushAcks();
      this.cursorSeq = 0;
    }
    if (this.cursorSeq < 0) return;
    const room = this.opts.window - this.inflight.size;
    if (room <= 0) return;
    const events = this.opts.store.outbox.pending(room, this.cursorSeq);
    for (const ev of events) {
      this.cursorSeq = ev.seq;
      this.send(ev);
    }
  }

  private send(ev: OutboxEvent): void {
    const epoch = this.epoch;
    const historical = ev.seq <= this.historicalUpToSeq;
    this.inflight.add(ev.seq);
    this.opts.publish(ev, historical).then(
      () => {
        if (epoch !== this.epoch) return;
        this.inflight.delete(ev.seq);
        this.counters.published++;
        if (historical) this.counters.historical++;
        this.queueAck(ev, historical);
        this.kick();
      },
      (err: unknown) => {
        if (epoch !== this.epoch) return;
        this.inflight.delete(ev.seq);
        if (errorCode(err) === 'EFLEET_GUARD') {
          this.counters.refused++;
          this.queueAck(ev, historical, true);
          this.opts.log.error('outbox event refused by the publish guard and dropped', { seq: ev.seq, id: ev.id, topic: ev.topic, err: errorMessage(err) });
          this.kick();
          return;
        }
        this.counters.failed++;
        this.opts.log.warn('outbox event publish failed; will retry', { seq: ev.seq, id: ev.id, err: errorMessage(err) });
        // Resend from the oldest pending once nothing is in flight, after the next poll.
        this.blocked = true;
        this.cursorSeq = -1;
      },
    );
  }
}
