/**
 * Moves events from the SQLite outbox to the broker (DESIGN.md §2 "Reporting", §6 `events/{type}`).
 *
 * Contract:
 * - Only while a session is active (`onConnected` … `onDisconnected`). At most `window` events in
 *   flight, sent in seq order; an event is acked in the store when its PUBACK arrives.
 * - On a new session the cursor restarts at the oldest unacked event: whatever was in flight when
 *   the last session died goes out again (at-least-once; consumers dedupe by id).
 * - `historical` is true for events whose seq is at or below the outbox's last seq at CONNACK:
 *   they were created before this connection existed (while offline, or on an older connection).
 * - A failed publish (PUBACK error, connection closing) stops sending until the next `poll()`; the
 *   event stays pending. An event the guard refuses cannot ever be sent: it is marked acked so it
 *   cannot block the queue, counted in `refused`, and logged by seq and id (never by content).
 * - Callbacks from an older session are ignored (session epoch).
 */
import { errorCode, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { OutboxEvent } from '../store/outbox';
import type { Store } from '../store/store';

export type PublishEventFn = (event: OutboxEvent, historical: boolean) => Promise<void>;

export interface OutboxPumpOptions {
  store: Store;
  log: Logger;
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

  constructor(private readonly opts: OutboxPumpOptions) {}

  get inFlight(): number {
    return this.inflight.size;
  }

  onConnected(): void {
    this.epoch++;
    this.active = true;
    this.blocked = false;
    this.inflight.clear();
    this.cursorSeq = 0;
    this.historicalUpToSeq = this.opts.store.outbox.lastSeq();
    this.kick();
  }

  onDisconnected(): void {
    this.epoch++;
    this.active = false;
    this.inflight.clear();
  }

  /** Backstop timer tick: lifts a failure block and sends what is pending. */
  poll(): void {
    this.blocked = false;
    this.kick();
  }

  /** Sends pending events up to the window. Cheap when there is nothing to do. */
  kick(): void {
    if (!this.active || this.blocked) return;
    if (this.cursorSeq < 0 && this.inflight.size === 0) this.cursorSeq = 0;
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
        this.opts.store.outbox.ack(ev.seq);
        this.counters.published++;
        if (historical) this.counters.historical++;
        this.opts.onAcked?.(ev, historical);
        this.kick();
      },
      (err: unknown) => {
        if (epoch !== this.epoch) return;
        this.inflight.delete(ev.seq);
        if (errorCode(err) === 'EFLEET_GUARD') {
          this.counters.refused++;
          this.opts.store.outbox.ack(ev.seq);
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
