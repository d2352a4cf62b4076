/**
 * 1200 baud FSK demodulator for on-hook caller ID: Bell 202 (mark 1200 Hz, space 2200 Hz; Telcordia
 * GR-30) and ITU-T V.23 forward channel (mark 1300 Hz, space 2100 Hz; ETSI EN 300 659-1 / ES 200 778).
 *
 * Non-coherent detection: each sample is mixed with complex references at the mark and space
 * frequencies and the products are summed over one bit time (7 samples at 8 kHz ≈ 5.8 ms, one baud
 * of 6.67 samples); the stronger sum gives the bit. A carrier check (window level ≥ -48 dBm0 and
 * mark + space holding ≥ 25 % of it) keeps silence and speech from being taken for data.
 *
 * Bits go through an asynchronous (UART) framer: a 1 → 0 edge starts a character, the start bit is
 * checked at its centre, 8 data bits LSB first are sampled at their centres (fractional bit clock:
 * 8000 / 1200 samples per bit), then the stop bit must be 1, else the character is a framing error.
 * Each character is reported with the number of mark (1) bits that preceded its start bit, which is
 * what tells the channel seizure (alternating bits) from the mark signal and the message after it.
 *
 * Pure: samples in, characters out through a callback. Positions are absolute sample indexes.
 */
import { TonewallError } from '../../hw/base/errors';

export type FskStandard = 'bell202' | 'v23';

export const FSK_TONES_HZ: Readonly<Record<FskStandard, { markHz: number; spaceHz: number }>> = {
  bell202: { markHz: 1200, spaceHz: 2200 },
  v23: { markHz: 1300, spaceHz: 2100 },
};

const SAMPLE_RATE = 8000;
const BAUD = 1200;
const SAMPLES_PER_BIT = SAMPLE_RATE / BAUD;
const WINDOW = 7;
/** -48 dBm0 as mean square of 16-bit samples (0 dBm0 = peak 22785). */
const MIN_MEAN_SQUARE = (22785 * 10 ** (-48 / 20)) ** 2 / 2;

export interface FskCharacter {
  byte: number;
  /** Mark bits seen before this character's start bit (since the carrier came up or the last character). */
  markBitsBefore: number;
  /** Sample index of the start bit's leading edge. */
  startSample: number;
}

export interface FskEvents {
  onCharacter: (c: FskCharacter) => void;
  /** The carrier went away (end of the FSK burst); message assembly starts over. */
  onCarrierLost?: () => void;
  /** A character whose stop bit was 0 (counted, not delivered). */
  onFramingError?: () => void;
}

type FramerState = 'no-carrier' | 'idle' | 'character';

export class FskDemodulator {
  position = 0;
  framingErrors = 0;
  private readonly markRef: Float64Array;
  private readonly spaceRef: Float64Array;
  private readonly hist = new Float64Array(WINDOW * 5);
  private histPos = 0;
  private mI = 0;
  private mQ = 0;
  private sI = 0;
  private sQ = 0;
  private energy = 0;
  private state: FramerState = 'no-carrier';
  private lastBit = 1;
  private markRunSamples = 0;
  private charStart = 0;
  private bitIndex = 0;
  private value = 0;

  constructor(
    readonly standard: FskStandard,
    private readonly events: FskEvents,
  ) {
    const tones = FSK_TONES_HZ[standard];
    if (!tones) throw new TonewallError('EDSP_FSK', `FSK standard "${String(standard)}" is not bell202 or v23`);
    // References for one period of the sample index mod SAMPLE_RATE: cos and sin interleaved.
    this.markRef = reference(tones.markHz);
    this.spaceRef = reference(tones.spaceHz);
  }

  /**
   * Feeds linear 16-bit samples (any block size). Hot loop: one function on purpose, running sums
   * over the window instead of re-summing it each sample.
   */
  process(input: Int16Array): void {
    const h = this.hist;
    for (let i = 0; i < input.length; i++) {
      const x = input[i] as number;
      const p = this.position % SAMPLE_RATE;
      const mc = x * (this.markRef[2 * p] as number);
      const ms = x * (this.markRef[2 * p + 1] as number);
      const sc = x * (this.spaceRef[2 * p] as number);
      const ss = x * (this.spaceRef[2 * p + 1] as number);
      const e = x * x;
      const slot = this.histPos * 5;
      this.mI += mc - (h[slot] as number);
      this.mQ += ms - (h[slot + 1] as number);
      this.sI += sc - (h[slot + 2] as number);
      this.sQ += ss - (h[slot + 3] as number);
      this.energy += e - (h[slot + 4] as number);
      h[slot] = mc;
      h[slot + 1] = ms;
      h[slot + 2] = sc;
      h[slot + 3] = ss;
      h[slot + 4] = e;
      this.histPos = (this.histPos + 1) % WINDOW;
      const markPow = this.mI * this.mI + this.mQ * this.mQ;
      const spacePow = this.sI * this.sI + this.sQ * this.sQ;
      // For a tone at f, |Σ x·e^{-jωn}|² ≈ (A·W/2)² and Σx² ≈ A²·W/2: the share is 2·|…|²/(W·Σx²).
      const carrier = this.energy / WINDOW >= MIN_MEAN_SQUARE && (2 * (markPow + spacePow)) / (WINDOW * Math.max(1, this.energy)) >= 0.25;
      this.framer(carrier, markPow >= spacePow ? 1 : 0);
      this.position++;
    }
  }

  private framer(carrier: boolean, bit: number): void {
    if (!carrier) {
      if (this.state !== 'no-carrier') {
        this.state = 'no-carrier';
        this.events.onCarrierLost?.();
      }
      this.lastBit = 1;
      return;
    }
    if (this.state === 'no-carrier') {
      this.state = 'idle';
      this.markRunSamples = 0;
    }
    if (this.state === 'idle') {
      if (bit === 0 && this.lastBit === 1) {
        this.state = 'character';
        this.charStart = this.position;
        this.bitIndex = 0;
        this.value = 0;
      } else if (bit === 1) this.markRunSamples++;
      this.lastBit = bit;
      return;
    }
    // In a character: sample bit k (0 = start, 1..8 data, 9 stop) at its centre.
    const centre = this.charStart + (this.bitIndex + 0.5) * SAMPLES_PER_BIT;
    if (this.position < Math.floor(centre)) return;
    if (this.bitIndex === 0) {
      if (bit !== 0) {
        // A glitch, not a start bit: back to idle.
        this.state = 'idle';
        this.lastBit = bit;
        return;
      }
    } else if (this.bitIndex <= 8) {
      this.value |= bit << (this.bitIndex - 1);
    } else {
      if (bit === 1) {
        this.events.onCharacter({ byte: this.value, markBitsBefore: Math.round(this.markRunSamples / SAMPLES_PER_BIT), startSample: this.charStart });
      } else {
        this.framingErrors++;
        this.events.onFramingError?.();
      }
      this.state = 'idle';
      this.markRunSamples = 0;
      this.lastBit = bit;
      return;
    }
    this.bitIndex++;
  }
}

function reference(hz: number): Float64Array {
  const ref = new Float64Array(2 * SAMPLE_RATE);
  for (let n = 0; n < SAMPLE_RATE; n++) {
    ref[2 * n] = Math.cos((2 * Math.PI * hz * n) / SAMPLE_RATE);
    ref[2 * n + 1] = -Math.sin((2 * Math.PI * hz * n) / SAMPLE_RATE);
  }
  return ref;
}
