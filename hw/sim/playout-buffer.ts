/**
 * The card's small playout buffer toward one line (docs/card-link.md §3.4): the host sends PCM as it
 * has it, the card plays it out at its TDM rate, 80 bytes per 10 ms tick. A chunk that would overfill
 * the buffer is dropped whole (an overrun); a tick that finds the buffer empty after audio has started
 * is an underrun. Both are counted, nothing is dropped silently.
 */
export class PlayoutBuffer {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private primed = false;
  overruns = 0;
  underruns = 0;

  constructor(private readonly maxBytes: number) {}

  get bufferedBytes(): number {
    return this.bytes;
  }

  /** Queues host audio; false (and an overrun counted) when it does not fit. */
  push(data: Uint8Array): boolean {
    if (this.bytes + data.length > this.maxBytes) {
      this.overruns++;
      return false;
    }
    this.chunks.push(Buffer.from(data));
    this.bytes += data.length;
    this.primed = true;
    return true;
  }

  /** Up to `n` bytes for one tick, or undefined when empty (an underrun once audio had started). */
  take(n: number): Buffer | undefined {
    if (this.bytes === 0) {
      if (this.primed) this.underruns++;
      return undefined;
    }
    const parts: Buffer[] = [];
    let want = n;
    while (want > 0 && this.chunks.length > 0) {
      const head = this.chunks[0] as Buffer;
      if (head.length <= want) {
        parts.push(head);
        this.chunks.shift();
        want -= head.length;
      } else {
        parts.push(head.subarray(0, want));
        this.chunks[0] = head.subarray(want);
        want = 0;
      }
    }
    const out = Buffer.concat(parts);
    this.bytes -= out.length;
    return out;
  }

  /** Empties the buffer (the call ended); the next audio starts a new stream. */
  clear(): void {
    this.chunks = [];
    this.bytes = 0;
    this.primed = false;
  }
}
