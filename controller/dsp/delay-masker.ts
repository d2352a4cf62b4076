/**
 * The delay line and masker of the uplink (DESIGN.md §5): samples are written at absolute input index
 * n and leave at n + lookahead, so the analyser's decision about a window (which arrives at the end of
 * the window) can still mask the window's start: the onset of a tone never leaves.
 *
 * Contract:
 * - `writeBlock` then, for the same count, `takeBlock` (per analyser hop) and `finishBlock` (per
 *   caller block): one sample in, one out; latency `lookaheadSamples`.
 * - `maskWindow(start, end)`, called right after sample end - 1 was written, marks absolute samples
 *   [start - PRE_GUARD, end + POST_GUARD) for replacement; samples already gone are not touched (the
 *   part of an onset that left is the cost of a lookahead shorter than ~16 ms).
 * - `engage()` fills the line with `lookaheadSamples` of comfort noise (the delay has to come from
 *   somewhere); `release()` drops what is buffered (call it at a quiet moment).
 * - In secure mode every sample that leaves passes the notch bank after replacement.
 * - No allocation after construction (the block buffer grows once if a caller's block exceeds 1024).
 */
import { ReplacementSource, type MaskStyle } from './replacement';
import { NotchBank } from './notch-bank';

/** Samples masked before a DTMF-like window's start and after its end (5 ms each). */
export const PRE_GUARD_SAMPLES = 40;
export const POST_GUARD_SAMPLES = 40;

const CAPACITY = 1024;
const INDEX_MASK = CAPACITY - 1;

const PASS = 0;
const MASK = 1;
const FILL = 2;

function growTo(old: Float64Array, n: number): Float64Array {
  return new Float64Array(Math.max(n, old.length * 2));
}

export class DelayMasker {
  readonly lookaheadSamples: number;
  /** Masked regions that have started to leave (rising edges of the mask). */
  maskedTones = 0;
  /** Samples that left as replacement (for the masked fraction of a session). */
  maskedSamples = 0;
  /** Absolute index of the next sample written / read. */
  writePos = 0;
  readPos = 0;
  /** Apply the notch bank to what leaves. */
  notch = false;

  private readonly ring = new Int16Array(CAPACITY);
  private readonly flags = new Uint8Array(CAPACITY);
  private readonly notchBank = new NotchBank();
  /** Block work buffer; grows (once) when a caller's block is larger. */
  private scratch: Float64Array = new Float64Array(CAPACITY);
  private readonly replacement: ReplacementSource;
  private holdUntil = 0;
  private lastFlag = PASS;
  /** Every sample at or after this absolute index is PASS (flags only ever get set below it). */
  private nonPassUntil = 0;

  constructor(style: MaskStyle, lookaheadSamples: number) {
    this.replacement = new ReplacementSource(style);
    this.lookaheadSamples = lookaheadSamples;
  }

  /** Buffered samples (the current latency). */
  get buffered(): number {
    return this.writePos - this.readPos;
  }

  /** Starts the delay line at absolute input index `position` with a lookahead of comfort noise. */
  engage(position: number): void {
    this.readPos = position - this.lookaheadSamples;
    this.writePos = this.readPos;
    for (let i = 0; i < this.lookaheadSamples; i++) this.push(0, FILL);
    this.holdUntil = 0;
    this.nonPassUntil = this.writePos;
    this.lastFlag = PASS;
    this.notchBank.reset();
  }

  /** Drops the buffered samples: from now on what is taken is what was just written (no delay). */
  release(): void {
    this.readPos = this.writePos;
  }

  /** Writes `input[from, to)`. */
  writeBlock(input: Int16Array, from: number, to: number): void {
    const n = to - from;
    const w0 = this.writePos;
    if (w0 >= this.holdUntil) {
      // Nothing held: copy the block in (at most two pieces around the ring's end).
      const j = w0 & INDEX_MASK;
      const first = Math.min(n, CAPACITY - j);
      this.ring.set(input.subarray(from, from + first), j);
      this.flags.fill(PASS, j, j + first);
      if (first < n) {
        this.ring.set(input.subarray(from + first, to), 0);
        this.flags.fill(PASS, 0, n - first);
      }
      this.writePos = w0 + n;
      return;
    }
    const ring = this.ring;
    const flags = this.flags;
    const hold = this.holdUntil;
    let w = w0;
    for (let i = from; i < to; i++, w++) {
      const j = w & INDEX_MASK;
      ring[j] = input[i] as number;
      flags[j] = w < hold ? MASK : PASS;
    }
    this.writePos = w;
  }

  /**
   * Takes `to - from` samples out of the line (replacement applied) into the block buffer at
   * [from, to); `finishBlock` then runs the notch bank over the whole block and writes the output.
   * Splitting the two keeps replacement decisions per hop (never looking further ahead than the
   * lookahead) while the linear notch filter runs once per block.
   */
  takeBlock(from: number, to: number): void {
    const n = to - from;
    if (to > this.scratch.length) this.scratch = growTo(this.scratch, to);
    const scratch = this.scratch;
    if (this.readPos >= this.nonPassUntil) {
      // Nothing flagged from here on: plain copy (Int16 → Float64), at most two pieces.
      const j = this.readPos & INDEX_MASK;
      const first = Math.min(n, CAPACITY - j);
      scratch.set(this.ring.subarray(j, j + first), from);
      if (first < n) scratch.set(this.ring.subarray(0, n - first), from + first);
      this.readPos += n;
      this.lastFlag = PASS;
      return;
    }
    const ring = this.ring;
    const flags = this.flags;
    let r = this.readPos;
    let last = this.lastFlag;
    for (let i = from; i < to; i++, r++) {
      const j = r & INDEX_MASK;
      const flag = flags[j] as number;
      if (flag === PASS) {
        scratch[i] = ring[j] as number;
      } else if (flag === MASK) {
        this.maskedSamples++;
        if (last !== MASK) {
          this.maskedTones++;
          this.replacement.begin();
        }
        scratch[i] = this.replacement.next();
      } else {
        scratch[i] = this.replacement.comfort();
      }
      last = flag;
    }
    this.readPos += n;
    this.lastFlag = last;
  }

  /** Notch bank (secure) over block buffer [0, n), then rounded and clamped into `output[0, n)`. */
  finishBlock(output: Int16Array, n: number): void {
    const scratch = this.scratch;
    if (this.notch) {
      this.notchBank.processBlockTo(scratch, output, n);
      return;
    }
    for (let i = 0; i < n; i++) {
      const y = scratch[i] as number;
      // Round half up, as Math.round, but with integer arithmetic (y + 32768.5 ≥ 0 after clamping).
      output[i] = y >= 32767 ? 32767 : y <= -32768 ? -32768 : ((y + 32768.5) | 0) - 32768;
    }
  }

  /** A comfort-noise sample, for a muted (faulted) uplink. */
  comfort(): number {
    return Math.round(this.replacement.comfort());
  }

  /** Marks the window [start, end) (absolute input indices) and its guards for replacement. */
  maskWindow(start: number, end: number): void {
    // Samples before end - 1 - lookahead would already have left had the input come one sample per
    // block; never touching them keeps the output identical for every block size.
    const from = Math.max(this.readPos, start - PRE_GUARD_SAMPLES, end - 1 - this.lookaheadSamples);
    const to = Math.min(this.writePos, end + POST_GUARD_SAMPLES);
    for (let n = from; n < to; n++) this.flags[n & INDEX_MASK] = MASK;
    const hold = end + POST_GUARD_SAMPLES;
    if (hold > this.holdUntil) this.holdUntil = hold;
    if (hold > this.nonPassUntil) this.nonPassUntil = hold;
  }

  /** True when nothing is being masked and the buffered audio's mean square is below `maxMeanSquare`. */
  isQuiet(maxMeanSquare: number): boolean {
    if (this.writePos < this.holdUntil || this.lastFlag === MASK) return false;
    const n = this.buffered;
    if (n === 0) return true;
    let sum = 0;
    for (let p = this.readPos; p < this.writePos; p++) {
      const i = p & INDEX_MASK;
      if (this.flags[i] === MASK) return false;
      const v = this.ring[i] as number;
      sum += v * v;
    }
    return sum / n <= maxMeanSquare;
  }

  private push(x: number, flag: number): void {
    const i = this.writePos & INDEX_MASK;
    this.ring[i] = x;
    this.flags[i] = flag;
    this.writePos++;
  }
}
