/**
 * Collects PCM written toward the card in one turn of the event loop into multi-channel pcm frames
 * (docs/card-link.md §4.9): an E1's 30 channels of one 10 ms period then travel in one frame.
 * A second chunk for a channel already in the batch closes the batch first, so per-channel order
 * is kept. Frames hold at most PCM_CHUNKS_PER_FRAME chunks so they stay under the maximum payload.
 */
import { MAX_PAYLOAD_BYTES, MAX_PCM_CHUNK_BYTES, type PcmChunk, type PcmMessage } from '../link/messages';

/** 5 bytes of pcm header + n × (2 + 80) ≤ 4096 → n ≤ 49; 48 keeps a margin. */
export const PCM_CHUNKS_PER_FRAME = Math.min(48, Math.floor((MAX_PAYLOAD_BYTES - 5) / (MAX_PCM_CHUNK_BYTES + 2)));

export class PcmBatcher {
  private batch = new Map<number, Buffer>();
  private scheduled = false;
  private tdmSample = 0;

  /**
   * @param emit receives complete frames, in order
   * @param schedule runs the flush after the current synchronous work (queueMicrotask in the driver)
   */
  constructor(
    private readonly emit: (msg: PcmMessage) => void,
    private readonly schedule: (fn: () => void) => void,
  ) {}

  /** Queues a copy of `data` (1..80 bytes, checked by the caller) for `channel`. */
  add(channel: number, data: Uint8Array): void {
    if (this.batch.has(channel) || this.batch.size >= PCM_CHUNKS_PER_FRAME) this.flush();
    this.batch.set(channel, Buffer.from(data));
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Drops what is queued (link down); returns how many chunks were dropped. */
  clear(): number {
    const n = this.batch.size;
    this.batch = new Map();
    return n;
  }

  flush(): void {
    if (this.batch.size === 0) return;
    const chunks: PcmChunk[] = [...this.batch].map(([channel, data]) => ({ channel, data }));
    this.batch = new Map();
    const msg: PcmMessage = { type: 'pcm', tdmSample: this.tdmSample, chunks };
    this.tdmSample = (this.tdmSample + Math.max(...chunks.map((c) => c.data.length))) >>> 0;
    this.emit(msg);
  }
}
