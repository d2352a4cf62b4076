/**
 * Downlink jitter buffer (SIP → PSTN), DESIGN.md §5: RTP payloads go in as they arrive; the call
 * manager pulls fixed blocks (10 ms = 80 samples) at the card's TDM clock, which is the audio clock.
 *
 * Contract:
 * - Works in the codec's own bytes (G.711: one byte per sample, position = RTP timestamp).
 * - Reorders by timestamp; duplicates and packets whose audio has already been played ("late") are
 *   dropped and counted.
 * - Playout starts once `targetDepthMs` of audio is buffered (prefill). A gap left by a lost
 *   packet is concealed with silence (repeat-and-fade needs the linear domain: later round) and
 *   counted in `concealedSamples`. Running dry counts an underrun and re-prefills.
 * - Clock drift: if more than `maxDepthMs` is buffered the oldest audio is dropped back to the
 *   target (counted in `droppedSamples`). Adaptive target depth comes later.
 */
export interface JitterBufferOptions {
  /** Audio buffered before playout starts, ms (default 40). */
  targetDepthMs?: number;
  /** Above this the oldest audio is dropped, ms (default 200). */
  maxDepthMs?: number;
  /** The codec's silence byte (G.711: 0xff μ-law, 0xd5 A-law). */
  silenceByte: number;
  /** Samples per ms (8 for 8 kHz). */
  samplesPerMs?: number;
}

export interface JitterBufferCounters {
  pushed: number;
  late: number;
  duplicates: number;
  concealedSamples: number;
  underruns: number;
  droppedSamples: number;
}

interface Frame {
  ts: number;
  data: Buffer;
}

/** Signed 32-bit distance a - b between RTP timestamps. */
function tsDelta(a: number, b: number): number {
  return (a - b) | 0;
}

export class JitterBuffer {
  readonly counters: JitterBufferCounters = { pushed: 0, late: 0, duplicates: 0, concealedSamples: 0, underruns: 0, droppedSamples: 0 };
  private frames: Frame[] = [];
  private playing = false;
  private playTs = 0;
  private readonly targetSamples: number;
  private readonly maxSamples: number;
  private readonly silenceByte: number;

  constructor(opts: JitterBufferOptions) {
    const spm = opts.samplesPerMs ?? 8;
    this.targetSamples = (opts.targetDepthMs ?? 40) * spm;
    this.maxSamples = Math.max((opts.maxDepthMs ?? 200) * spm, this.targetSamples + 80);
    this.silenceByte = opts.silenceByte;
  }

  /** Samples buffered from the playout point (or from the oldest frame before playout). */
  get depthSamples(): number {
    const last = this.frames[this.frames.length - 1];
    const first = this.frames[0];
    if (!last || !first) return 0;
    const start = this.playing ? this.playTs : first.ts;
    return Math.max(0, tsDelta(last.ts + last.data.length, start));
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  push(timestamp: number, payload: Buffer): 'ok' | 'late' | 'duplicate' {
    const ts = timestamp >>> 0;
    if (payload.length === 0) return 'ok';
    if (this.playing && tsDelta(ts + payload.length, this.playTs) <= 0) {
      this.counters.late++;
      return 'late';
    }
    let i = this.frames.length;
    while (i > 0) {
      const f = this.frames[i - 1];
      if (!f) break;
      const d = tsDelta(ts, f.ts);
      if (d === 0) {
        this.counters.duplicates++;
        return 'duplicate';
      }
      if (d > 0) break;
      i--;
    }
    this.frames.splice(i, 0, { ts, data: Buffer.from(payload) });
    this.counters.pushed++;
    this.trimOverflow();
    return 'ok';
  }

  /** Pulls exactly `samples` bytes of codec audio (silence while prefilling or dry). */
  pull(samples: number): Buffer {
    const out = Buffer.alloc(samples, this.silenceByte);
    if (!this.playing) {
      const first = this.frames[0];
      if (!first || this.depthSamples < this.targetSamples) return out;
      this.playing = true;
      this.playTs = first.ts;
    }
    let cursor = 0;
    while (cursor < samples) {
      this.dropConsumed();
      const f = this.frames[0];
      if (!f) {
        // Ran dry: the rest is silence; wait for the buffer to refill to the target.
        this.counters.underruns++;
        this.playing = false;
        break;
      }
      const into = tsDelta(this.playTs, f.ts);
      if (into < 0) {
        const gap = Math.min(-into, samples - cursor);
        this.counters.concealedSamples += gap;
        cursor += gap;
        this.playTs = (this.playTs + gap) >>> 0;
        continue;
      }
      const n = Math.min(f.data.length - into, samples - cursor);
      f.data.copy(out, cursor, into, into + n);
      cursor += n;
      this.playTs = (this.playTs + n) >>> 0;
    }
    this.dropConsumed();
    return out;
  }

  private dropConsumed(): void {
    while (this.frames.length > 0) {
      const f = this.frames[0];
      if (!f || tsDelta(f.ts + f.data.length, this.playTs) > 0 || !this.playing) break;
      this.frames.shift();
    }
  }

  private trimOverflow(): void {
    if (this.depthSamples <= this.maxSamples) return;
    const last = this.frames[this.frames.length - 1];
    if (!last) return;
    const newStart = (last.ts + last.data.length - this.targetSamples) >>> 0;
    const oldStart = this.playing ? this.playTs : (this.frames[0]?.ts ?? newStart);
    this.counters.droppedSamples += Math.max(0, tsDelta(newStart, oldStart));
    this.frames = this.frames.filter((f) => tsDelta(f.ts + f.data.length, newStart) > 0);
    if (this.playing) this.playTs = newStart;
    else {
      const first = this.frames[0];
      if (first && tsDelta(first.ts, newStart) < 0) {
        const cut = tsDelta(newStart, first.ts);
        this.frames[0] = { ts: newStart, data: first.data.subarray(cut) };
      }
    }
  }
}
