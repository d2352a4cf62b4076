/**
 * Request/reply matching for the card link (STYLE.md "Waitress"): the wait for a reply is armed
 * before the request is written, each request has its own id (u16, 1..65535, never one in use),
 * and a timeout rejects with an error that names the request. Several requests may be
 * outstanding (docs/card-link.md §3: the card answers each by id).
 */
import type { Clock, TimerHandle } from '../base/clock';
import { TonewallError } from '../base/errors';
import type { CommandResultMessage } from '../link/messages';

interface Waiter {
  description: string;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: TimerHandle;
}

export class Waitress {
  private readonly waiters = new Map<number, Waiter>();
  private lastId = 0;

  constructor(private readonly clock: Clock) {}

  get outstanding(): number {
    return this.waiters.size;
  }

  /** Arms a wait and returns its request id and the promise of the reply. */
  arm(description: string, timeoutMs: number): { requestId: number; reply: Promise<void> } {
    const requestId = this.nextId();
    const reply = new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.waiters.delete(requestId);
        reject(new TonewallError('CARD_COMMAND_TIMEOUT', `${description}: no reply from the card within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(requestId, { description, resolve, reject, timer });
    });
    return { requestId, reply };
  }

  /** Settles the wait the result answers; returns false when no wait had its id (late or stray reply). */
  settle(result: CommandResultMessage): boolean {
    const w = this.waiters.get(result.requestId);
    if (!w) return false;
    this.waiters.delete(result.requestId);
    w.timer.cancel();
    if (result.status === 'ok') w.resolve();
    else {
      const detail = result.detail ? ` (${result.detail})` : '';
      w.reject(new TonewallError('CARD_COMMAND_REJECTED', `${w.description}: card answered ${result.status}${detail}, expected ok`, { status: result.status }));
    }
    return true;
  }

  /** Rejects one wait (the request could not be written). */
  fail(requestId: number, err: Error): void {
    const w = this.waiters.get(requestId);
    if (!w) return;
    this.waiters.delete(requestId);
    w.timer.cancel();
    w.reject(err);
  }

  /** Rejects every wait (link down, stop). */
  failAll(reason: string): void {
    const all = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of all) {
      w.timer.cancel();
      w.reject(new TonewallError('CARD_LINK_DOWN', `${w.description}: ${reason}`));
    }
  }

  private nextId(): number {
    for (let i = 0; i < 0xffff; i++) {
      this.lastId = (this.lastId % 0xffff) + 1;
      if (!this.waiters.has(this.lastId)) return this.lastId;
    }
    throw new TonewallError('CARD_COMMAND_BUSY', 'all 65535 request ids are in use, expected fewer outstanding requests');
  }
}
