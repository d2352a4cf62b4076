/**
 * Two PriSpans (our user side and our network side) joined back to back through a frame queue, on a
 * ManualClock. Frames are queued, not delivered re-entrantly, and `flush()` delivers them in order;
 * `drop` lets a test lose frames. Every frame is recorded with its direction (for pcaps and asserts).
 */
import { nullLogger } from '../../hw/base/logger';
import { PriSpan, type PriSpanOptions } from '../../controller/pstn/isdn/pri-span';
import { SWITCH_VARIANTS, type SwitchVariantName } from '../../controller/pstn/isdn/switch-variant';
import { ManualClock } from './manual-clock';

export interface RecordedFrame {
  from: 'user' | 'network';
  frame: Buffer;
  atMs: number;
}

export class IsdnPair {
  readonly clock = new ManualClock();
  readonly user: PriSpan;
  readonly network: PriSpan;
  readonly frames: RecordedFrame[] = [];
  /** Return true to lose a frame on the wire. */
  drop: (f: RecordedFrame) => boolean = () => false;
  private queue: RecordedFrame[] = [];

  constructor(variant: SwitchVariantName = 'etsi', extra: Partial<PriSpanOptions> = {}) {
    const common = { span: 1, variant: SWITCH_VARIANTS[variant], clock: this.clock, log: nullLogger, ...extra };
    this.user = new PriSpan({ ...common, side: 'user', sendFrame: (f) => this.push('user', f) });
    this.network = new PriSpan({ ...common, side: 'network', sendFrame: (f) => this.push('network', f) });
  }

  private push(from: 'user' | 'network', frame: Buffer): void {
    const rec = { from, frame: Buffer.from(frame), atMs: this.clock.now() };
    this.frames.push(rec);
    if (!this.drop(rec)) this.queue.push(rec);
  }

  /** Delivers queued frames (and the frames they cause) until none is left. */
  flush(limit = 10_000): void {
    for (let n = 0; this.queue.length > 0; n++) {
      if (n > limit) throw new Error(`frame storm: more than ${limit} frames in one flush`);
      const f = this.queue.shift();
      if (!f) break;
      (f.from === 'user' ? this.network : this.user).receiveFrame(f.frame);
    }
  }

  /** Advances the clock in steps, flushing after each, so timer-driven frames are delivered. */
  run(ms: number, stepMs = 50): void {
    this.flush();
    for (let t = 0; t < ms; t += stepMs) {
      this.clock.advance(Math.min(stepMs, ms - t));
      this.flush();
    }
  }

  /** Starts both sides and runs until the D channel is up on both. */
  up(): void {
    this.network.start();
    this.user.start();
    this.run(100);
  }
}
