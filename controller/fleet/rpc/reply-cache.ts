/**
 * Replies by request id, least recently used evicted first (mqtt-fleet.md §6: replayed commands are
 * recognised by reqId). A request seen again gets the same reply, not a second execution; while the
 * first is still running, the duplicate waits for its reply.
 */
export class ReplyCache<R> {
  private readonly entries = new Map<string, Promise<R>>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The reply (or the one in progress) for `reqId`, refreshed as most recently used. */
  get(reqId: string): Promise<R> | undefined {
    const hit = this.entries.get(reqId);
    if (hit) {
      this.entries.delete(reqId);
      this.entries.set(reqId, hit);
    }
    return hit;
  }

  set(reqId: string, reply: Promise<R>): void {
    this.entries.delete(reqId);
    this.entries.set(reqId, reply);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}
