/**
 * MF R1 address signaling (ITU-T Q.320–Q.323; the North American R1 of T1 CAS trunks): two of six
 * frequencies, 700–1700 Hz in 200 Hz steps, per signal; an address is KP, the digits, ST.
 *
 *   signal  Hz           signal  Hz           signal  Hz
 *   1       700+900      6       1100+1300    KP      1100+1700
 *   2       700+1100     7       700+1500     ST      1500+1700
 *   3       900+1100     8       900+1500     ST'     900+1700
 *   4       700+1300     9       1100+1500    ST''    1300+1700
 *   5       900+1300     0       1300+1500    ST'''   700+1700
 *
 * Sending (Q.320 §2, Bell practice): each frequency at −7 dBm0, KP 100 ms, other signals 68 ms,
 * 68 ms silence between signals. Receiving (Q.322): a signal counts when exactly two of the six
 * frequencies are present for ≥ 30 ms (KP ≥ 55 ms), each at ≥ −31 dBm0, within 6 dB of each
 * other (twist), and every other frequency at least 10 dB below the weaker of the two; the
 * receiver works on 10 ms Goertzel blocks (80 samples at 8 kHz), so durations are multiples of 10 ms.
 */
import { TonewallError } from '../../hw/base/errors';
import { addTones, dbm0ToPeak, SAMPLE_RATE } from './tone-generator';

export const MF_R1_HZ = [700, 900, 1100, 1300, 1500, 1700] as const;

export type MfSignal = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | 'KP' | 'ST' | "ST'" | "ST''" | "ST'''";

/** Indices into MF_R1_HZ of each signal's pair. */
const PAIRS: Readonly<Record<MfSignal, readonly [number, number]>> = {
  '1': [0, 1], '2': [0, 2], '3': [1, 2], '4': [0, 3], '5': [1, 3], '6': [2, 3], '7': [0, 4], '8': [1, 4], '9': [2, 4], '0': [3, 4],
  KP: [2, 5], ST: [4, 5], "ST'": [1, 5], "ST''": [3, 5], "ST'''": [0, 5],
};

const BY_PAIR = new Map<string, MfSignal>(Object.entries(PAIRS).map(([s, [a, b]]) => [`${a},${b}`, s as MfSignal]));

export const BLOCK_SAMPLES = 80;

export interface MfSendOptions {
  levelDbm0?: number;
  kpMs?: number;
  toneMs?: number;
  gapMs?: number;
  /** Level difference high − low frequency, dB (tests: twist). */
  twistDb?: number;
}

/** The audio of KP, `digits`, ST (16-bit linear, 8 kHz). Throws EMF_DIGITS for anything but 0–9. */
export function mfR1Address(digits: string, o: MfSendOptions = {}): Int16Array {
  if (!/^[0-9]{1,32}$/.test(digits)) throw new TonewallError('EMF_DIGITS', `MF R1 address "${digits.slice(0, 40)}" is not 1-32 digits 0-9`);
  const signals: MfSignal[] = ['KP', ...(digits.split('') as MfSignal[]), 'ST'];
  return mfR1Signals(signals, o);
}

/** The audio of a signal sequence, each followed by the inter-signal gap. */
export function mfR1Signals(signals: readonly MfSignal[], o: MfSendOptions = {}): Int16Array {
  const level = o.levelDbm0 ?? -7;
  const twist = o.twistDb ?? 0;
  const ms = (s: MfSignal): number => (s === 'KP' ? (o.kpMs ?? 100) : (o.toneMs ?? 68));
  const gap = Math.round(((o.gapMs ?? 68) * SAMPLE_RATE) / 1000);
  const total = signals.reduce((n, s) => n + Math.round((ms(s) * SAMPLE_RATE) / 1000) + gap, 0);
  const out = new Int16Array(total);
  let at = 0;
  for (const s of signals) {
    const [a, b] = PAIRS[s];
    const n = Math.round((ms(s) * SAMPLE_RATE) / 1000);
    addTones(out, at, n, [
      { hz: MF_R1_HZ[a] ?? 0, levelDbm0: level - twist / 2 },
      { hz: MF_R1_HZ[b] ?? 0, levelDbm0: level + twist / 2 },
    ]);
    at += n + gap;
  }
  return out;
}

export interface MfSignalEvent {
  signal: MfSignal;
  /** Sample index of the first block the signal was present in. */
  startSample: number;
  durationMs: number;
}

const MIN_LEVEL_POWER = (() => {
  // Goertzel power of a −31 dBm0 sine over one block: (A·N/2)².
  const amp = dbm0ToPeak(-31);
  return ((amp * BLOCK_SAMPLES) / 2) ** 2;
})();
const TWIST_RATIO = 10 ** (6 / 10);
const OTHERS_RATIO = 10 ** (10 / 10);

function goertzelCoefficient(hz: number): number {
  return 2 * Math.cos((2 * Math.PI * hz) / SAMPLE_RATE);
}
const COEFFS = MF_R1_HZ.map(goertzelCoefficient);

/**
 * Streaming MF R1 receiver: push 16-bit linear samples at 8 kHz; a signal is reported once it has
 * ended (present ≥ 30 ms, KP ≥ 55 ms, then one block without it).
 */
export class MfR1Detector {
  private readonly buf = new Int16Array(BLOCK_SAMPLES);
  private fill = 0;
  private sample = 0;
  private current: { signal: MfSignal; startSample: number; blocks: number } | undefined;

  constructor(private readonly onSignal: (e: MfSignalEvent) => void) {}

  push(samples: Int16Array): void {
    for (const x of samples) {
      this.buf[this.fill++] = x;
      if (this.fill === BLOCK_SAMPLES) {
        this.block();
        this.fill = 0;
        this.sample += BLOCK_SAMPLES;
      }
    }
  }

  /** Reports a signal still present at the end of the input. */
  flush(): void {
    this.close();
  }

  private block(): void {
    const powers = COEFFS.map((c) => {
      let s1 = 0;
      let s2 = 0;
      for (const x of this.buf) {
        const s0 = x + c * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      return s1 * s1 + s2 * s2 - c * s1 * s2;
    });
    const order = powers.map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]);
    const [first, second, third] = order;
    let signal: MfSignal | undefined;
    if (first && second && third && second[0] >= MIN_LEVEL_POWER && first[0] <= second[0] * TWIST_RATIO && third[0] * OTHERS_RATIO <= second[0]) {
      const lo = Math.min(first[1], second[1]);
      const hi = Math.max(first[1], second[1]);
      signal = BY_PAIR.get(`${lo},${hi}`);
    }
    if (this.current && signal === this.current.signal) {
      this.current.blocks++;
      return;
    }
    this.close();
    if (signal) this.current = { signal, startSample: this.sample, blocks: 1 };
  }

  private close(): void {
    const c = this.current;
    this.current = undefined;
    if (!c) return;
    const durationMs = (c.blocks * BLOCK_SAMPLES * 1000) / SAMPLE_RATE;
    if (durationMs >= (c.signal === 'KP' ? 55 : 30)) this.onSignal({ signal: c.signal, startSample: c.startSample, durationMs });
  }
}

/** Decodes the address (digits between KP and an ST) from detected signals; undefined when incomplete. */
export function addressOf(signals: readonly MfSignal[]): { digits: string; end: MfSignal } | undefined {
  const kp = signals.lastIndexOf('KP');
  if (kp < 0) return undefined;
  let digits = '';
  for (const s of signals.slice(kp + 1)) {
    if (s.startsWith('ST')) return { digits, end: s };
    if (s === 'KP') return undefined;
    digits += s;
  }
  return undefined;
}

/** Every signal in `samples` (whole buffer). */
export function detectMfR1(samples: Int16Array): MfSignalEvent[] {
  const out: MfSignalEvent[] = [];
  const d = new MfR1Detector((e) => out.push(e));
  d.push(samples);
  d.flush();
  return out;
}
