/**
 * One call on one analog line as the PSTN plays it: the far end of the simulated FXO card. It is
 * advanced by the card's TDM tick (10 ms = 80 samples), so every time in here is a sample count on
 * the TDM clock and tests can check cadences exactly.
 *
 *   inbound:   ringing ──host off-hook──▶ connected ──caller hangs up──▶ caller-gone ──host on-hook──▶ ended
 *                 │ answerTimeoutRings rings                │ host on-hook
 *                 ▼                                        ▼
 *               ended (no-answer)                        ended (host-hangup)
 *   outbound:  ringback ──answerAfterMs──▶ connected …   (host on-hook in any state ▶ ended)
 *
 * Loop start as seen by an FXO (ANSI/TIA-968; ETSI ES 201 970): ringing with the script's cadence;
 * caller ID delivered as a card-decoded `caller-id` event in the last silent interval of the first
 * ring cycle (Telcordia GR-30: between the first and second ring, ≥ 500 ms after the first); loop
 * current flows once the FXO goes off-hook; the far end's disconnect shows as a loop-current drop
 * (open switch interval) and/or a battery reversal, per the port's supervision setting. Caller ID
 * sent as Bell 202 / V.23 FSK inside the audio is not modelled yet.
 */
import { addTones } from '../../controller/dsp/tone-generator';
import { encode, type CompandingLaw } from '../../controller/media/g711';
import { TonewallError } from '../base/errors';
import type { LineEvent } from '../card/types';
import { cadenceMs, type AudioItem, type CallScript } from './call-script';
import { CallerAudio, type KeypressTiming } from './caller-audio';
import { callerIdAudio } from './caller-id-fsk';
import type { SeededRandom } from './seeded-random';

export const SAMPLES_PER_TICK = 80;

export type DisconnectSupervision = 'loop-current-drop' | 'battery-reversal' | 'both';
export type PstnCallState = 'ringing' | 'ringback' | 'connected' | 'caller-gone' | 'ended';
export type CallEndReason = 'caller-hangup' | 'host-hangup' | 'no-answer' | 'reset';

const TRANSITIONS: Record<PstnCallState, readonly PstnCallState[]> = {
  ringing: ['connected', 'ended'],
  ringback: ['connected', 'ended'],
  connected: ['caller-gone', 'ended'],
  'caller-gone': ['ended'],
  ended: [],
};

/** The scripted far end of an outward call (the host dialled). */
export interface CalleeScript {
  /** Ringback heard by the host before the callee answers. */
  answerAfterMs: number;
  audio: AudioItem[];
  hangup: 'caller' | 'wait-for-host';
  /**
   * The callee's line is busy: an analog line hears busy tone (480 + 620 Hz, 0.5 s on / 0.5 s off,
   * Telcordia GR-506) after dialling and is never answered; a PRI SETUP is cleared with cause 17.
   */
  busy?: boolean;
}

/** The callee for a dialled number: `callees[number]`, else `fallback`, else DEFAULT_CALLEE. */
export function calleeFor(number: string, callees: Readonly<Record<string, CalleeScript>> | undefined, fallback: CalleeScript | undefined): CalleeScript {
  return callees?.[number.replace(/,/g, '')] ?? fallback ?? DEFAULT_CALLEE;
}

export const DEFAULT_CALLEE: CalleeScript = { answerAfterMs: 3000, audio: [{ speech: 3000 }], hangup: 'wait-for-host' };

export interface PstnCallOptions {
  id: number;
  port: number;
  direction: 'inbound' | 'outbound';
  /** Inbound: the caller's script. */
  script?: CallScript;
  /** Outbound: the callee's script. */
  callee?: CalleeScript;
  /** Outbound: the dialled number. */
  dialled?: string;
  /**
   * Inbound: send caller ID as FSK in the audio (the port is configured for in-audio caller ID)
   * instead of a card-decoded caller-id event only. The pcm of a ringing call then carries the burst.
   */
  callerIdInAudio?: boolean;
  /** Outbound: how long the host's dialling lasts, ms; the exchange is silent until then and the callee's answerAfterMs counts from its end. */
  dialMs?: number;
  supervision: DisconnectSupervision;
  law: CompandingLaw;
  rng: SeededRandom;
  loadWav: (path: string) => Int16Array;
  /** Called on every state change (after the change). */
  onState?: (call: PstnCall, state: PstnCallState) => void;
}

export interface TimelineEntry {
  /** Sample index on this call's TDM count (0 = the call started). */
  sample: number;
  event: LineEvent;
}

export interface TickOutput {
  events: LineEvent[];
  /** 80 bytes of companded audio toward the host, or undefined when the call sends none. */
  pcm: Uint8Array | undefined;
}

export class PstnCall {
  private stateValue: PstnCallState;
  private sampleIndex = 0;
  private ringOn = false;
  private readonly audio: CallerAudio;
  private readonly heardChunks: Buffer[] = [];
  private readonly sentChunks: Buffer[] = [];
  private readonly cadenceSamples: number[];
  private readonly cycleSamples: number;
  private readonly block = new Int16Array(SAMPLES_PER_TICK);
  /** Events raised outside a tick's event list (the outward answer), sent with the next tick. */
  private readonly pendingEvents: LineEvent[] = [];
  readonly timeline: TimelineEntry[] = [];
  /** In-audio caller ID: the FSK burst and the sample it starts at; rings start after it when it goes first. */
  private readonly cid: { audio: Int16Array; atSample: number } | undefined;
  private readonly ringOffsetSamples: number;
  answeredAtSample: number | undefined;
  endedAtSample: number | undefined;
  endReason: CallEndReason | undefined;

  constructor(private readonly opts: PstnCallOptions) {
    if (opts.direction === 'inbound' && !opts.script) throw new TonewallError('SIM_CALL', `inbound call on port ${opts.port} needs a script`);
    this.stateValue = opts.direction === 'inbound' ? 'ringing' : 'ringback';
    this.cadenceSamples = opts.script ? cadenceMs(opts.script.ringCadence).map((ms) => ms * 8) : [16000, 32000];
    this.cycleSamples = this.cadenceSamples.reduce((a, b) => a + b, 0);
    const items = opts.direction === 'inbound' ? (opts.script?.audio ?? []) : (opts.callee ?? DEFAULT_CALLEE).audio;
    const script = opts.script;
    if (opts.callerIdInAudio && script && (script.callerNumber || script.callerName)) {
      const audio = callerIdAudio(
        { format: script.callerIdFormat, dateTime: script.callerIdDateTime, number: script.callerNumber.replace(/^\+/, '') || 'O', ...(script.callerName ? { name: script.callerName } : {}) },
        script.callerIdFsk,
      );
      if (script.callerIdTiming === 'before-first-ring') {
        // ETSI EN 300 659-1 §6.1: data ≥ 100 ms after the alert, first ring ≥ 500 ms after the data.
        this.cid = { audio, atSample: 800 };
        this.ringOffsetSamples = 800 + audio.length + 4000;
      } else {
        const lastOff = this.cadenceSamples[this.cadenceSamples.length - 1] as number;
        // Telcordia GR-30: ≥ 500 ms after the end of the first ring, inside its silent interval.
        this.cid = { audio, atSample: this.cycleSamples - lastOff + Math.min(4000, Math.floor(lastOff / 4)) };
        this.ringOffsetSamples = 0;
      }
    } else {
      this.cid = undefined;
      this.ringOffsetSamples = 0;
    }
    this.audio = new CallerAudio({ items, rng: opts.rng, loadWav: opts.loadWav });
  }

  get id(): number {
    return this.opts.id;
  }
  get port(): number {
    return this.opts.port;
  }
  /** Outbound: the number the host dialled (or the called number of its SETUP); inbound: ''. */
  get dialled(): string {
    return this.opts.dialled ?? '';
  }
  get direction(): 'inbound' | 'outbound' {
    return this.opts.direction;
  }
  get state(): PstnCallState {
    return this.stateValue;
  }
  /** Samples elapsed since the call started. */
  get samples(): number {
    return this.sampleIndex;
  }
  /** Key timing, samples from the answer (the start of the caller's audio). */
  get keypresses(): readonly KeypressTiming[] {
    return this.audio.keypresses;
  }
  /** Everything the far end heard from the host (companded bytes, in arrival order). */
  heard(): Buffer {
    return Buffer.concat(this.heardChunks);
  }
  /** Everything the far end sent toward the host (companded bytes). */
  sent(): Buffer {
    return Buffer.concat(this.sentChunks);
  }

  /** Advances one TDM tick (80 samples): line events due in it, and its audio. */
  tick(): TickOutput {
    const events: LineEvent[] = [];
    let pcm: Uint8Array | undefined;
    switch (this.stateValue) {
      case 'ringing':
        this.tickRinging(events);
        pcm = this.tickCallerId();
        break;
      case 'ringback':
        pcm = this.tickRingback();
        break;
      case 'connected':
        pcm = this.tickConnected(events);
        break;
      case 'caller-gone':
      case 'ended':
        break;
    }
    for (const e of this.pendingEvents.splice(0)) this.emit(events, e);
    this.sampleIndex += SAMPLES_PER_TICK;
    return { events, pcm };
  }

  /** The host's FXO went off-hook: answers a ringing call. Returns the events this causes. */
  hostOffHook(): LineEvent[] {
    if (this.stateValue !== 'ringing') return [];
    const events: LineEvent[] = [];
    if (this.ringOn) this.emit(events, { kind: 'ring-off', port: this.port });
    this.ringOn = false;
    this.answer(events);
    return events;
  }

  /** The host's FXO went on-hook: the call is over (whoever hung up first). */
  hostOnHook(): void {
    if (this.stateValue === 'ended') return;
    this.end(this.stateValue === 'caller-gone' ? (this.endReason ?? 'caller-hangup') : 'host-hangup');
  }

  /** Audio from the host toward this call's far end; recorded while the line is connected. */
  hostPcm(data: Uint8Array): void {
    if (this.stateValue === 'connected') this.heardChunks.push(Buffer.from(data));
  }

  /** The card reset under the call. */
  reset(): void {
    if (this.stateValue !== 'ended') this.end('reset');
  }

  /** The part of the in-audio caller ID burst in this tick, or undefined outside it. */
  private tickCallerId(): Uint8Array | undefined {
    const cid = this.cid;
    if (!cid || this.sampleIndex + SAMPLES_PER_TICK <= cid.atSample || this.sampleIndex >= cid.atSample + cid.audio.length) return undefined;
    this.block.fill(0);
    for (let i = 0; i < SAMPLES_PER_TICK; i++) {
      const k = this.sampleIndex + i - cid.atSample;
      if (k >= 0 && k < cid.audio.length) this.block[i] = cid.audio[k] as number;
    }
    return encode(this.opts.law, this.block);
  }

  private tickRinging(events: LineEvent[]): void {
    const script = this.opts.script as CallScript;
    const offset = this.ringOffsetSamples;
    if (this.sampleIndex + SAMPLES_PER_TICK <= offset) return;
    const start = Math.max(0, this.sampleIndex - offset);
    const end = this.sampleIndex + SAMPLES_PER_TICK - offset;
    if (start >= script.answerTimeoutRings * this.cycleSamples) {
      if (this.ringOn) this.emit(events, { kind: 'ring-off', port: this.port });
      this.ringOn = false;
      this.end('no-answer');
      return;
    }
    const cycle = Math.floor(start / this.cycleSamples);
    let at = cycle * this.cycleSamples;
    for (let i = 0; at < end; i = (i + 1) % this.cadenceSamples.length) {
      if (at >= start) {
        const on = i % 2 === 0;
        if (on !== this.ringOn) this.emit(events, { kind: on ? 'ring-on' : 'ring-off', port: this.port }, at + offset);
        this.ringOn = on;
      }
      at += this.cadenceSamples[i] as number;
    }
    const lastOff = this.cadenceSamples[this.cadenceSamples.length - 1] as number;
    const callerIdAt = this.cycleSamples - lastOff + Math.min(4000, Math.floor(lastOff / 2));
    if (callerIdAt >= start && callerIdAt < end && (script.callerNumber || script.callerName)) {
      this.emit(events, { kind: 'caller-id', port: this.port, number: script.callerNumber, name: script.callerName }, callerIdAt + offset);
    }
  }

  private tickRingback(): Uint8Array {
    const callee = this.opts.callee ?? DEFAULT_CALLEE;
    const dialSamples = (this.opts.dialMs ?? 0) * 8;
    if (this.sampleIndex < dialSamples) return encode(this.opts.law, this.block.fill(0));
    if (callee.busy) {
      this.block.fill(0);
      if (this.sampleIndex % 8000 < 4000) addTones(this.block, 0, SAMPLES_PER_TICK, [{ hz: 480, levelDbm0: -24 }, { hz: 620, levelDbm0: -24 }], this.sampleIndex);
      return encode(this.opts.law, this.block);
    }
    if (this.sampleIndex >= dialSamples + callee.answerAfterMs * 8) {
      this.answer([]);
      return this.tickConnected([]) ?? new Uint8Array(SAMPLES_PER_TICK).fill(0xff);
    }
    // US ringback (Telcordia GR-506): 440 + 480 Hz at -19 dBm0, 2 s on, 4 s off.
    this.block.fill(0);
    if (this.sampleIndex % 48000 < 16000) {
      addTones(this.block, 0, SAMPLES_PER_TICK, [{ hz: 440, levelDbm0: -19 }, { hz: 480, levelDbm0: -19 }], this.sampleIndex);
    }
    return encode(this.opts.law, this.block);
  }

  private tickConnected(events: LineEvent[]): Uint8Array | undefined {
    const answered = this.answeredAtSample ?? this.sampleIndex;
    const hangupAfterMs = this.opts.script?.hangupAfterMs;
    const hangup = this.opts.direction === 'inbound' ? (this.opts.script?.hangup ?? 'caller') : (this.opts.callee ?? DEFAULT_CALLEE).hangup;
    const due = hangupAfterMs !== undefined ? this.sampleIndex - answered >= hangupAfterMs * 8 : hangup === 'caller' && this.audio.done;
    if (due) {
      this.callerHangsUp(events);
      return undefined;
    }
    this.audio.read(this.block);
    const pcm = encode(this.opts.law, this.block);
    this.sentChunks.push(Buffer.from(pcm));
    return pcm;
  }

  private answer(events: LineEvent[]): void {
    this.answeredAtSample = this.sampleIndex;
    this.transition('connected');
    if (this.opts.direction === 'inbound') this.emit(events, { kind: 'loop-current', port: this.port, present: true });
    // Answer supervision toward a dialling FXO: a line with reversal supervision reverses battery
    // when the callee answers (and again when the callee hangs up).
    else if (this.opts.supervision !== 'loop-current-drop') this.pendingEvents.push({ kind: 'battery-reversal', port: this.port });
  }

  private callerHangsUp(events: LineEvent[]): void {
    const s = this.opts.supervision;
    if (s === 'loop-current-drop' || s === 'both') this.emit(events, { kind: 'loop-current', port: this.port, present: false });
    if (s === 'battery-reversal' || s === 'both') this.emit(events, { kind: 'battery-reversal', port: this.port });
    this.endReason = 'caller-hangup';
    this.transition('caller-gone');
  }

  private end(reason: CallEndReason): void {
    this.endReason = reason;
    this.endedAtSample = this.sampleIndex;
    this.transition('ended');
  }

  private emit(events: LineEvent[], event: LineEvent, sample = this.sampleIndex): void {
    events.push(event);
    this.timeline.push({ sample, event });
  }

  private transition(next: PstnCallState): void {
    if (!TRANSITIONS[this.stateValue].includes(next)) {
      throw new TonewallError('SIM_CALL_STATE', `call ${this.id} on port ${this.port}: illegal transition ${this.stateValue} → ${next}`);
    }
    this.stateValue = next;
    this.opts.onState?.(this, next);
  }
}
