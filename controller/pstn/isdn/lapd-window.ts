/**
 * The sequence variables and I-frame queues of one LAPD data link (Q.921 §3.5.2, §5.6), modulo 128:
 * V(S) next N(S) to send, V(A) oldest unacknowledged, V(R) next N(S) expected. Frames sent and not yet
 * acknowledged are kept in order from V(A) for retransmission; at most k may be outstanding.
 */
import { LAPD_MODULUS } from './lapd-frame';

export const mod128 = (n: number): number => ((n % LAPD_MODULUS) + LAPD_MODULUS) % LAPD_MODULUS;

export class LapdWindow {
  vs = 0;
  va = 0;
  vr = 0;
  private unacked: Buffer[] = [];
  private queue: Buffer[] = [];

  constructor(private readonly k: number) {}

  enqueue(info: Buffer): void {
    this.queue.push(Buffer.from(info));
  }

  /** Q.921 §5.8.2: V(A) ≤ N(R) ≤ V(S), modulo 128. */
  nrValid(nr: number): boolean {
    return mod128(nr - this.va) <= mod128(this.vs - this.va);
  }

  /** Frames up to N(R) - 1 are acknowledged: V(A) = N(R). */
  acknowledge(nr: number): void {
    this.unacked.splice(0, mod128(nr - this.va));
    this.va = nr;
  }

  /** An I frame with N(S) arrived: true (and V(R) advanced) when it is the one expected. */
  receivedInSequence(ns: number): boolean {
    if (ns !== this.vr) return false;
    this.vr = mod128(this.vr + 1);
    return true;
  }

  /** The next I frame to send when the window (k) allows; V(S) advances. */
  next(): { ns: number; info: Buffer } | undefined {
    if (mod128(this.vs - this.va) >= this.k) return undefined;
    const info = this.queue.shift();
    if (!info) return undefined;
    const ns = this.vs;
    this.unacked.push(info);
    this.vs = mod128(this.vs + 1);
    return { ns, info };
  }

  /** The last I frame sent and not acknowledged (for the T200 retransmission with P=1). */
  lastUnacked(): { ns: number; info: Buffer } | undefined {
    const info = this.unacked[this.unacked.length - 1];
    return info ? { ns: mod128(this.vs - 1), info } : undefined;
  }

  /** Q.921 §5.6.4: every unacknowledged frame goes back to the head of the queue; V(S) = V(A). Returns how many. */
  rewind(): number {
    const n = this.unacked.length;
    this.queue = [...this.unacked, ...this.queue];
    this.unacked = [];
    this.vs = this.va;
    return n;
  }

  reset(): void {
    this.vs = 0;
    this.va = 0;
    this.vr = 0;
  }

  discard(): void {
    this.queue = [];
    this.unacked = [];
  }
}
