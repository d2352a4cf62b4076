/**
 * Agent-side RFC 4733 events (SIP → PSTN downlink) regenerated as in-band DTMF toward the card
 * (DESIGN.md §5: agents still navigate IVRs), with the receiver rules of RFC 4733 §2.5.2:
 *
 * - One event is identified by its RTP timestamp (§2.5.1.2: every packet of an event, the
 *   retransmitted end packets included, carries the event's start timestamp). Updates of a known
 *   event extend its duration; the three end packets (§2.5.1.4) end it once; packets for an event
 *   already played (same or older timestamp) are duplicates and ignored — no digit is played twice.
 * - A lost end: a new event (new timestamp) ends the previous one (§2.5.2.2), and an event with no
 *   packet for `lostEndTimeoutMs` ends by itself.
 * - Only an end packet (start packets lost): the digit is played with the duration it carries.
 * - Each tone lasts at least 40 ms and at most `maxToneMs`, and consecutive tones are separated by
 *   at least 40 ms of silence (ITU-T Q.24 minimum tone and pause), so the PSTN sees every digit
 *   once. Events above 15 (not DTMF) are counted and ignored.
 *
 *   per event:  queued ──(gap over)──► playing ──(end && played ≥ duration, or timeout)──► done
 *
 * Driven block by block at the card clock (`render`), so durations are in card samples.
 */
import { DtmfToneSource, DTMF_DIGITS } from '../dsp/tone-generator';
import { DTMF_EVENT_CHARS, type TelephoneEvent } from './rtp-event';

export interface TelephoneEventPlayerOptions {
  /** An event with no packet for this long ends (lost end packets), ms (default 250). */
  lostEndTimeoutMs?: number;
  /** Longest tone we play for one event, ms (default 2000). */
  maxToneMs?: number;
}

export interface TelephoneEventCounters {
  eventPackets: number;
  digitsPlayed: number;
  duplicatePackets: number;
  lostEnds: number;
  unsupportedEvents: number;
}

interface Pending {
  ts: number;
  code: number;
  durationSamples: number;
  ended: boolean;
  lastHeardAt: number;
  playedSamples: number;
}

const MIN_TONE_SAMPLES = 320;
const MIN_GAP_SAMPLES = 320;
const RECENT = 16;

export class TelephoneEventPlayer {
  readonly counters: TelephoneEventCounters = { eventPackets: 0, digitsPlayed: 0, duplicatePackets: 0, lostEnds: 0, unsupportedEvents: 0 };
  private readonly tone = new DtmfToneSource();
  private readonly queue: Pending[] = [];
  private readonly done: number[] = [];
  private newestTs: number | undefined;
  private now = 0;
  private gap = 0;
  private readonly timeoutSamples: number;
  private readonly maxSamples: number;

  constructor(opts: TelephoneEventPlayerOptions = {}) {
    this.timeoutSamples = (opts.lostEndTimeoutMs ?? 250) * 8;
    this.maxSamples = (opts.maxToneMs ?? 2000) * 8;
  }

  /** True while a tone plays or waits to play (the downlink audio is replaced meanwhile). */
  get active(): boolean {
    return this.queue.length > 0 || this.tone.active;
  }

  /** One decoded event from a telephone-event packet with RTP timestamp `rtpTimestamp`. */
  onEvent(ev: TelephoneEvent, rtpTimestamp: number): void {
    this.counters.eventPackets++;
    const ts = rtpTimestamp >>> 0;
    if (ev.event > 15) {
      this.counters.unsupportedEvents++;
      return;
    }
    const known = this.queue.find((p) => p.ts === ts);
    if (known) {
      known.durationSamples = Math.max(known.durationSamples, ev.durationSamples);
      known.lastHeardAt = this.now;
      if (ev.end) known.ended = true;
      return;
    }
    if (this.done.includes(ts) || (this.newestTs !== undefined && ((ts - this.newestTs) | 0) <= 0)) {
      this.counters.duplicatePackets++;
      return;
    }
    for (const p of this.queue) {
      if (!p.ended) {
        p.ended = true;
        this.counters.lostEnds++;
      }
    }
    this.newestTs = ts;
    const code = DTMF_DIGITS.indexOf(DTMF_EVENT_CHARS.charAt(ev.event));
    this.queue.push({ ts, code, durationSamples: ev.durationSamples, ended: ev.end, lastHeardAt: this.now, playedSamples: 0 });
  }

  /**
   * Fills `out` with the next samples toward the PSTN and returns true when it holds the tone (or
   * the silence between two tones), false when nothing is playing (the caller keeps its audio).
   */
  render(out: Int16Array): boolean {
    const n = out.length;
    this.now += n;
    const cur = this.queue[0];
    if (!cur && !this.tone.active) {
      this.gap = Math.max(0, this.gap - n);
      return false;
    }
    if (cur && cur.playedSamples === 0) {
      if (this.gap > 0) {
        this.gap = Math.max(0, this.gap - n);
        this.tone.fill(out); // the previous tone's fall, then silence
        return true;
      }
      this.tone.start(cur.code);
    }
    this.tone.fill(out);
    if (cur) {
      cur.playedSamples += n;
      if (!cur.ended && this.now - cur.lastHeardAt > this.timeoutSamples) {
        cur.ended = true;
        cur.durationSamples = Math.min(cur.durationSamples, cur.playedSamples);
        this.counters.lostEnds++;
      }
      const wanted = Math.min(this.maxSamples, Math.max(MIN_TONE_SAMPLES, cur.durationSamples));
      if (cur.playedSamples >= this.maxSamples || (cur.ended && cur.playedSamples >= wanted)) {
        this.tone.stop();
        this.queue.shift();
        this.done.push(cur.ts);
        if (this.done.length > RECENT) this.done.shift();
        this.counters.digitsPlayed++;
        this.gap = MIN_GAP_SAMPLES;
      }
    }
    return true;
  }
}
