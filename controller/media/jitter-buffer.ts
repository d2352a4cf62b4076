/**
 * Adaptive downlink jitter buffer (SIP → PSTN), DESIGN.md §5, in the linear domain (decoded G.711,
 * 8 kHz). RTP audio goes in as it arrives, with its arrival time; the card pulls fixed blocks
 * (10 ms = 80 samples) at its TDM clock, which is the audio clock.
 *
 *   state     event                           next      action
 *   prefill   depth ≥ target                  playing   playout starts at the oldest frame, or at
 *                                                       target depth when a burst is > 25 ms deeper
 *   playing   audio at the playout point      playing   play it (time-scaled by ±k samples, below)
 *   playing   gap, later audio buffered       playing   conceal the gap (PLC)
 *   playing   dry ≤ 60 ms                     playing   conceal (PLC: repeat and fade)
 *   playing   dry > 60 ms                     prefill   underrun counted; silence until refilled
 *   any       timestamp jump > 1 s            prefill   resync counted; buffer flushed
 *
 * Contract:
 * - Reorders by timestamp; duplicates and packets whose audio was already played ("late") are
 *   dropped and counted.
 * - Target depth follows the measured jitter (after the stream's first 50 packets): every 25 packets it is set to the 98th percentile
 *   minus the minimum of the packets' relative delay over the last 250 packets, plus one packet
 *   time, within [minDepthMs, maxDepthMs]; it rises at once and falls by at most 1 ms per update.
 * - Drift between the far end's clock and the card's (and moves of the target) are absorbed by
 *   time-scaling: a block of 80 output samples is made from 80 ± k input samples by linear
 *   interpolation, never by dropping whole frames. Too deep (latency only) is corrected once the
 *   smoothed depth is 25 ms above the target; too shallow (underrun risk) once it is 5 ms below in
 *   low-energy blocks (mean |x| < 400, up to 4 samples per block) or 10 ms below in blocks with
 *   signal (one sample per block). Inside those bounds audio plays bit-exact.
 *   Such samples are counted in `droppedSamples` / `insertedSamples`.
 * - Above maxDepthMs the oldest audio is discarded down to the target (`overflowSamples`): a
 *   burst, not drift, causes that.
 */
import { PacketLossConcealer } from './plc';

export interface JitterBufferOptions {
  /** Lower bound of the adaptive target depth, ms (default 20). */
  minDepthMs?: number;
  /** Starting target depth, ms (default 40). */
  initialDepthMs?: number;
  /** Upper bound of the target; above it the oldest audio is discarded, ms (default 200). */
  maxDepthMs?: number;
  /** Samples per ms (8 for 8 kHz). */
  samplesPerMs?: number;
  /**
   * Absorb drift by time-scaling (default true). Off: bit-exact playout (modem/fax passthrough,
   * transparency tests); drift then ends in overflow discards or underruns.
   */
  timeScaling?: boolean;
}

export interface JitterBufferCounters {
  pushed: number;
  late: number;
  duplicates: number;
  /** Samples made up by PLC (gaps and dry spells while playing). */
  concealedSamples: number;
  underruns: number;
  /** Samples removed by time-scaling (far end faster than the card, or the target fell). */
  droppedSamples: number;
  /** Samples added by time-scaling (far end slower, or the target rose). */
  insertedSamples: number;
  overflowSamples: number;
  resyncs: number;
}

interface Frame {
  ts: number;
  data: Int16Array;
}

type State = 'prefill' | 'playing';

const DELAY_WINDOW = 250;
const WARMUP_PACKETS = 50;
const TARGET_UPDATE_EVERY = 25;
/** Time-scaling thresholds around the target depth, ms (see adjustment()). */
const ABOVE_MS = 25;
const BELOW_QUIET_MS = 5;
const BELOW_SIGNAL_MS = 10;
const LOW_ENERGY_MEAN_ABS = 400;
const RESYNC_SAMPLES = 8000;

/** Signed 32-bit distance a - b between RTP timestamps. */
function tsDelta(a: number, b: number): number {
  return (a - b) | 0;
}

export class JitterBuffer {
  readonly counters: JitterBufferCounters = {
    pushed: 0, late: 0, duplicates: 0, concealedSamples: 0, underruns: 0, droppedSamples: 0, insertedSamples: 0, overflowSamples: 0, resyncs: 0,
  };
  private frames: Frame[] = [];
  private state: State = 'prefill';
  private playTs = 0;
  private readonly spm: number;
  private readonly minSamples: number;
  private readonly maxSamples: number;
  private target: number;
  private smoothedDepth = 0;
  private readonly delays = new Float64Array(DELAY_WINDOW);
  private delayCount = 0;
  private warmupPackets = 0;
  private lastPacketSamples = 160;
  private readonly plc = new PacketLossConcealer();
  private scratch = new Int16Array(0);
  private present = new Uint8Array(0);
  private readonly timeScaling: boolean;
  private fadeIn = false;

  constructor(opts: JitterBufferOptions = {}) {
    this.timeScaling = opts.timeScaling ?? true;
    this.spm = opts.samplesPerMs ?? 8;
    this.minSamples = (opts.minDepthMs ?? 20) * this.spm;
    this.maxSamples = Math.max((opts.maxDepthMs ?? 200) * this.spm, this.minSamples + 80);
    this.target = Math.min(this.maxSamples, Math.max(this.minSamples, (opts.initialDepthMs ?? 40) * this.spm));
  }

  get targetDepthMs(): number {
    return this.target / this.spm;
  }

  /** Samples buffered ahead of the playout point (up to the end of the newest frame). */
  get depthSamples(): number {
    const last = this.frames[this.frames.length - 1];
    const first = this.frames[0];
    if (!last || !first) return 0;
    const start = this.state === 'playing' ? this.playTs : first.ts;
    return Math.max(0, tsDelta(last.ts + last.data.length, start));
  }

  get isPlaying(): boolean {
    return this.state === 'playing';
  }

  /** One packet's decoded audio, its RTP timestamp and its arrival time (monotonic ms). */
  push(timestamp: number, samples: Int16Array, arrivalMs: number): 'ok' | 'late' | 'duplicate' {
    const ts = timestamp >>> 0;
    if (samples.length === 0) return 'ok';
    if (this.state === 'playing' && tsDelta(ts + samples.length, this.playTs) <= 0) {
      if (tsDelta(this.playTs, ts) > RESYNC_SAMPLES) {
        this.resync();
      } else {
        this.counters.late++;
        return 'late';
      }
    } else if (this.frames.length > 0 && Math.abs(tsDelta(ts, this.state === 'playing' ? this.playTs : (this.frames[0] as Frame).ts)) > RESYNC_SAMPLES + this.maxSamples) {
      this.resync();
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
    this.frames.splice(i, 0, { ts, data: Int16Array.from(samples) });
    this.counters.pushed++;
    this.lastPacketSamples = samples.length;
    this.noteDelay(ts, arrivalMs);
    this.trimOverflow();
    return 'ok';
  }

  /** Exactly `count` samples of linear audio for the card (silence while prefilling). */
  pull(count: number): Int16Array {
    const out = new Int16Array(count);
    if (this.state === 'prefill') {
      const first = this.frames[0];
      if (!first || this.depthSamples < this.target) return out;
      this.state = 'playing';
      this.playTs = first.ts;
      // A burst that arrived before playout began: start at the target depth rather than
      // time-scale the excess away over the following seconds (nothing was played yet).
      const excess = this.depthSamples - this.target;
      if (this.timeScaling && excess > ABOVE_MS * this.spm) {
        this.playTs = (this.playTs + excess) >>> 0;
        this.counters.droppedSamples += excess;
        this.dropConsumed();
      }
      this.smoothedDepth = this.depthSamples;
    }
    this.dropConsumed();
    if (this.frames.length === 0) {
      this.counters.concealedSamples += count;
      this.plc.conceal(out);
      this.playTs = (this.playTs + count) >>> 0;
      if (this.plc.erasedSamples > 480) {
        this.counters.underruns++;
        this.state = 'prefill';
        this.fadeIn = true;
        this.plc.reset();
      }
      return out;
    }
    const depth = this.depthSamples;
    this.smoothedDepth += (depth - this.smoothedDepth) / 16;
    const k = this.adjustment(count);
    this.readScaled(out, count + k);
    if (this.fadeIn) {
      // Playout restarts after an underrun's silence: a linear ramp over the first block, no step from zero.
      for (let i = 0; i < count; i++) out[i] = Math.round(((out[i] as number) * (i + 1)) / count);
      this.fadeIn = false;
    }
    return out;
  }

  /** Time-scale step: +k reads k extra input samples (shrinks the buffer), -k reads fewer. */
  private adjustment(count: number): number {
    const err = this.smoothedDepth - this.target;
    if (!this.timeScaling) return 0;
    // Too deep costs only latency: act once 25 ms above the target. Too shallow risks an underrun:
    // quiet blocks act 5 ms below it, blocks with signal 10 ms below it.
    const lowEnergy = this.meanAbs(count) < LOW_ENERGY_MEAN_ABS;
    const band = (err > 0 ? ABOVE_MS : lowEnergy ? BELOW_QUIET_MS : BELOW_SIGNAL_MS) * this.spm;
    if (Math.abs(err) <= band) return 0;
    if (!this.contiguous(count + 4)) return 0;
    const limit = lowEnergy ? 4 : 1;
    const k = Math.max(-limit, Math.min(limit, Math.round((err - Math.sign(err) * band) / (2 * this.spm))));
    return k === 0 ? Math.sign(err) : k;
  }

  /** Reads `inputCount` samples from the playout point into `out` (resampled to out.length), PLC for gaps. */
  private readScaled(out: Int16Array, inputCount: number): void {
    if (this.scratch.length < inputCount) {
      this.scratch = new Int16Array(inputCount + 8);
      this.present = new Uint8Array(inputCount + 8);
    }
    const src = this.scratch.subarray(0, inputCount);
    const present = this.present.subarray(0, inputCount);
    const missing = this.copyRange(this.playTs, src, present);
    if (missing > 0 || inputCount === out.length) {
      // A gap (never time-scaled) or a plain block: play real samples, conceal the missing ones.
      const n = out.length;
      let i = 0;
      while (i < n) {
        let j = i;
        const real = present[i] === 1;
        while (j < n && (present[j] === 1) === real) j++;
        const span = out.subarray(i, j);
        if (real) {
          span.set(src.subarray(i, j));
          this.plc.real(span);
        } else {
          this.plc.conceal(span);
          this.counters.concealedSamples += j - i;
        }
        i = j;
      }
      this.playTs = (this.playTs + n) >>> 0;
      return;
    }
    const ratio = (inputCount - 1) / (out.length - 1);
    for (let i = 0; i < out.length; i++) {
      const x = i * ratio;
      const i0 = Math.floor(x);
      const frac = x - i0;
      const a = src[i0] as number;
      const b = src[Math.min(i0 + 1, inputCount - 1)] as number;
      out[i] = Math.round(a + (b - a) * frac);
    }
    this.plc.real(out);
    if (inputCount > out.length) this.counters.droppedSamples += inputCount - out.length;
    else this.counters.insertedSamples += out.length - inputCount;
    this.playTs = (this.playTs + inputCount) >>> 0;
  }

  /** Copies samples [startTs, startTs + dst.length) that are buffered; marks presence; returns the count missing. */
  private copyRange(startTs: number, dst: Int16Array, present: Uint8Array): number {
    present.fill(0);
    dst.fill(0);
    let missing = dst.length;
    for (const f of this.frames) {
      const from = tsDelta(f.ts, startTs);
      if (from >= dst.length) break;
      const to = from + f.data.length;
      if (to <= 0) continue;
      const a = Math.max(0, from);
      const b = Math.min(dst.length, to);
      dst.set(f.data.subarray(a - from, b - from), a);
      for (let i = a; i < b; i++) {
        if (present[i] === 0) missing--;
        present[i] = 1;
      }
    }
    return missing;
  }

  private contiguous(samples: number): boolean {
    let at = this.playTs;
    for (const f of this.frames) {
      if (tsDelta(f.ts, at) > 0) return false;
      const end = (f.ts + f.data.length) >>> 0;
      if (tsDelta(end, at) > 0) at = end;
      if (tsDelta(at, this.playTs) >= samples) return true;
    }
    return false;
  }

  private meanAbs(samples: number): number {
    const f = this.frames[0];
    if (!f) return 0;
    const from = Math.max(0, tsDelta(this.playTs, f.ts));
    const part = f.data.subarray(from, from + samples);
    let sum = 0;
    for (const v of part) sum += Math.abs(v);
    return part.length > 0 ? sum / part.length : 0;
  }

  private noteDelay(ts: number, arrivalMs: number): void {
    // The first second of a stream (call setup, the card starting to pull, bursts) says little
    // about the path's jitter: the starting target holds until it has passed.
    if (this.warmupPackets < WARMUP_PACKETS) {
      this.warmupPackets++;
      return;
    }
    // Relative delay in samples; the far end's timestamp origin cancels out in the spread.
    const rel = arrivalMs * this.spm - ts;
    const prev = this.delayCount > 0 ? (this.delays[(this.delayCount - 1) % DELAY_WINDOW] as number) : rel;
    // Unwrap the 32-bit timestamp so the series is continuous.
    let v = rel;
    while (v - prev > 0x80000000) v -= 0x100000000;
    while (prev - v > 0x80000000) v += 0x100000000;
    this.delays[this.delayCount % DELAY_WINDOW] = v;
    this.delayCount++;
    if (this.delayCount % TARGET_UPDATE_EVERY === 0) this.updateTarget();
  }

  private updateTarget(): void {
    const n = Math.min(this.delayCount, DELAY_WINDOW);
    const sorted = Float64Array.from(this.delays.subarray(0, n)).sort();
    const spread = (sorted[Math.floor(0.98 * (n - 1))] as number) - (sorted[0] as number);
    const wanted = Math.min(this.maxSamples, Math.max(this.minSamples, Math.round(spread + this.lastPacketSamples)));
    this.target = wanted >= this.target ? wanted : Math.max(wanted, this.target - this.spm);
  }

  private dropConsumed(): void {
    while (this.frames.length > 0) {
      const f = this.frames[0];
      if (!f || tsDelta(f.ts + f.data.length, this.playTs) > 0) break;
      this.frames.shift();
    }
  }

  private trimOverflow(): void {
    if (this.depthSamples <= this.maxSamples) return;
    const last = this.frames[this.frames.length - 1];
    if (!last) return;
    const newStart = (last.ts + last.data.length - this.target) >>> 0;
    const oldStart = this.state === 'playing' ? this.playTs : (this.frames[0]?.ts ?? newStart);
    this.counters.overflowSamples += Math.max(0, tsDelta(newStart, oldStart));
    this.frames = this.frames.filter((f) => tsDelta(f.ts + f.data.length, newStart) > 0);
    if (this.state === 'playing') {
      this.playTs = newStart;
      this.smoothedDepth = this.target;
    } else {
      const first = this.frames[0];
      if (first && tsDelta(first.ts, newStart) < 0) this.frames[0] = { ts: newStart, data: first.data.subarray(tsDelta(newStart, first.ts)) };
    }
  }

  private resync(): void {
    this.counters.resyncs++;
    this.frames = [];
    this.state = 'prefill';
    this.delayCount = 0;
    this.warmupPackets = 0;
    this.plc.reset();
  }
}
