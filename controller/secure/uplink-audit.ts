/**
 * The masking record's second check (DESIGN.md §5 last bullet): an independent DTMF detector that
 * listens to the ENCODED uplink payloads that actually left during a secure session (G.711 RTP
 * payloads, decoded here), and counts any digit it finds. A clean session finds none.
 *
 * Why it is independent of the masker (controller/dsp): it shares no code or parameters with it.
 * - It hears the companded bytes that left the box, after the masker, the encoder and the packetiser,
 *   not the masker's linear samples.
 * - A Goertzel bank over 205-sample windows (25.6 ms, the classic DTMF block length) hopped every
 *   41 samples (5.1 ms), against the masker's 102-sample windows hopped by 51 with Q.24 thresholds.
 * - Thresholds deliberately looser than Q.24 (it must be harder to fool than the masker, not agree
 *   with it): level ≥ -50 dBm0 per tone, twist within ±12 dB, each tone ≥ 6 dB above the others of its
 *   group, the pair ≥ 50 % of the window's power. A digit is counted when two consecutive windows
 *   hold the same pair (a span of 246 samples, ~31 ms); every single matching window is counted as a
 *   `suspectWindows` too.
 * Cost: 8 Goertzel filters × 205 samples per 41-sample hop; it only runs during a session.
 */
import { decode, type CompandingLaw } from '../media/g711';

const RATE_HZ = 8000;
export const AUDIT_WINDOW_SAMPLES = 205;
export const AUDIT_HOP_SAMPLES = 41;
const FREQS_HZ = [697, 770, 852, 941, 1209, 1336, 1477, 1633] as const;
/** dBm0 reference: a sine of peak 22785 (G.711's 3.14 dBm0 overload point, ITU-T G.711 Table 1). */
const DBM0_PEAK = 22785;
const MIN_TONE_DBM0 = -50;
const MAX_TWIST_DB = 12;
const GROUP_MARGIN_DB = 6;
const MIN_PAIR_FRACTION = 0.5;

const COEFFS = FREQS_HZ.map((hz) => 2 * Math.cos((2 * Math.PI * hz) / RATE_HZ));
/** Mean power of a sine at MIN_TONE_DBM0. */
const MIN_TONE_POWER = (DBM0_PEAK * 10 ** (MIN_TONE_DBM0 / 20)) ** 2 / 2;
const TWIST_RATIO = 10 ** (MAX_TWIST_DB / 10);
const GROUP_RATIO = 10 ** (GROUP_MARGIN_DB / 10);

export interface AuditCounts {
  /** Encoded payload bytes (= samples) examined. */
  samplesChecked: number;
  /** Digits found (two consecutive matching windows). 0 for a clean session. */
  digitsFound: number;
  /** Single windows that matched a DTMF pair. */
  suspectWindows: number;
}

export class UplinkAudit {
  readonly detector = 'goertzel-205-g711' as const;
  private readonly ring = new Float64Array(AUDIT_WINDOW_SAMPLES);
  private readonly decoded = new Int16Array(1024);
  private filled = 0;
  private write = 0;
  private sinceHop = 0;
  private lastPair = -1;
  private counted = false;
  private readonly counts: AuditCounts = { samplesChecked: 0, digitsFound: 0, suspectWindows: 0 };

  /** Feed one RTP payload (G.711 bytes, any length) in send order. */
  feedPayload(payload: Uint8Array, law: CompandingLaw): void {
    for (let off = 0; off < payload.length; off += this.decoded.length) {
      const part = payload.subarray(off, Math.min(payload.length, off + this.decoded.length));
      const linear = decode(law, part, this.decoded.subarray(0, part.length));
      this.feedLinear(linear);
    }
  }

  /** Feed linear samples (tests, and payloads already decoded). */
  feedLinear(samples: Int16Array): void {
    for (let i = 0; i < samples.length; i++) {
      this.ring[this.write] = samples[i] ?? 0;
      this.write = (this.write + 1) % AUDIT_WINDOW_SAMPLES;
      if (this.filled < AUDIT_WINDOW_SAMPLES) this.filled++;
      this.sinceHop++;
      if (this.filled === AUDIT_WINDOW_SAMPLES && this.sinceHop >= AUDIT_HOP_SAMPLES) {
        this.sinceHop = 0;
        this.onWindow(this.classifyWindow());
      }
    }
    this.counts.samplesChecked += samples.length;
  }

  get result(): Readonly<AuditCounts> {
    return { ...this.counts };
  }

  private onWindow(pair: number): void {
    if (pair < 0) {
      this.lastPair = -1;
      this.counted = false;
      return;
    }
    this.counts.suspectWindows++;
    if (pair === this.lastPair && !this.counted) {
      this.counts.digitsFound++;
      this.counted = true;
    } else if (pair !== this.lastPair) {
      this.counted = false;
    }
    this.lastPair = pair;
  }

  /** Row × 4 + column of a DTMF-like window, or -1. */
  private classifyWindow(): number {
    const n = AUDIT_WINDOW_SAMPLES;
    const powers = [0, 0, 0, 0, 0, 0, 0, 0];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const x = this.ring[(this.write + i) % n] ?? 0;
      total += x * x;
    }
    total /= n;
    if (total < MIN_TONE_POWER) return -1;
    for (let f = 0; f < 8; f++) {
      const c = COEFFS[f] ?? 0;
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const s0 = (this.ring[(this.write + i) % n] ?? 0) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      // |X(k)|² scaled to the mean power of a sine: 2·|X|²/N².
      powers[f] = (2 * (s1 * s1 + s2 * s2 - c * s1 * s2)) / (n * n);
    }
    const row = strongest(powers, 0);
    const col = strongest(powers, 4);
    const pr = powers[row.index] ?? 0;
    const pc = powers[col.index] ?? 0;
    if (pr < MIN_TONE_POWER || pc < MIN_TONE_POWER) return -1;
    if (pr > pc * TWIST_RATIO || pc > pr * TWIST_RATIO) return -1;
    if (pr < row.second * GROUP_RATIO || pc < col.second * GROUP_RATIO) return -1;
    if (pr + pc < MIN_PAIR_FRACTION * total) return -1;
    return row.index * 4 + (col.index - 4);
  }
}

function strongest(powers: readonly number[], from: number): { index: number; second: number } {
  let index = from;
  let best = -1;
  let second = 0;
  for (let k = from; k < from + 4; k++) {
    const p = powers[k] ?? 0;
    if (p > best) {
      second = Math.max(second, best);
      best = p;
      index = k;
    } else if (p > second) {
      second = p;
    }
  }
  return { index, second };
}
