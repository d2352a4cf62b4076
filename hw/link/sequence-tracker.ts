/**
 * Counts frames lost in transit from the peer's 16-bit sequence numbers (docs/card-link.md §2).
 *
 * Each side numbers its frames 0, 1, 2 … mod 2^16, starting again at 0 with its hello. A forward
 * jump of n (mod 2^16, n < 2^15) means n − 1 frames were lost; a jump of 2^15 or more is taken as a
 * backward step (a repeated or stale frame, or a peer that restarted without a hello): it is counted
 * in `restarts` and the tracker follows the new numbering without counting loss.
 */
export const SEQ_MODULO = 0x10000;
const HALF = SEQ_MODULO / 2;

export class SequenceTracker {
  private expected: number | undefined;
  framesLost = 0;
  restarts = 0;

  /** Forget the previous numbering (the peer sent a hello, or the link was reopened). */
  reset(): void {
    this.expected = undefined;
  }

  /** Observe one frame's sequence number; returns how many frames were lost just before it. */
  observe(seq: number): number {
    const expected = this.expected;
    this.expected = (seq + 1) % SEQ_MODULO;
    if (expected === undefined) return 0;
    const gap = (seq - expected + SEQ_MODULO) % SEQ_MODULO;
    if (gap === 0) return 0;
    if (gap >= HALF) {
      this.restarts++;
      return 0;
    }
    this.framesLost += gap;
    return gap;
  }
}
