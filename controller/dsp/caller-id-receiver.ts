/**
 * On-hook caller ID receiver: line audio in, decoded caller ID out. Runs the FSK demodulator of the
 * line's standard (Bell 202 for North America, V.23 for ETSI countries) and the DTMF detector side
 * by side, so either kind of caller ID is found whatever the exchange sends.
 *
 * FSK (Telcordia GR-30 §3, ETSI EN 300 659-1 §6): channel seizure (alternating bits, 300 bits, absent
 * on some ETSI variants), mark signal (≥ 10 bits here; 180 Bell, 80 ETSI nominal), then the message.
 * A message starts at a character that follows at least MIN_MARK_BITS mark bits and is a caller ID
 * type; its length byte says how many more bytes (plus checksum) to take. A new long mark run or the
 * carrier going away abandons a partial message. Bad messages count in `errors` (not delivered).
 * DTMF: keys from the existing Q.24 detector collected until C or # (keys more than 3 s apart start over).
 */
import { decodeCallerIdMessage, decodeDtmfCallerId, isCallerIdType, type CallerId } from './caller-id-message';
import { DtmfDetector } from './dtmf-detector';
import { FskDemodulator, type FskCharacter, type FskStandard } from './fsk-demodulator';
import { DTMF_DIGITS } from './tone-generator';

export const MIN_MARK_BITS = 10;
const DTMF_GAP_SAMPLES = 3 * 8000;

export interface CallerIdReceiverOptions {
  fsk: FskStandard;
  /** Also listen for DTMF caller ID (default true). */
  dtmf?: boolean;
  onCallerId: (callerId: CallerId) => void;
}

export class CallerIdReceiver {
  /** Messages dropped: bad checksum, bad length, bad content, framing errors inside a message. */
  errors = 0;
  private readonly fsk: FskDemodulator;
  private readonly dtmf: DtmfDetector | undefined;
  private msg: number[] = [];
  private keys = '';
  private lastKeyEnd = 0;

  constructor(private readonly opts: CallerIdReceiverOptions) {
    this.fsk = new FskDemodulator(opts.fsk, {
      onCharacter: (c) => this.onCharacter(c),
      onCarrierLost: () => this.abandon(),
      onFramingError: () => {
        if (this.msg.length > 0) this.abandon(true);
      },
    });
    if (opts.dtmf ?? true) {
      this.dtmf = new DtmfDetector({ onDigit: (e) => this.onKey(DTMF_DIGITS[e.code] ?? '', e.startSample, e.endSample) });
    }
  }

  process(samples: Int16Array): void {
    this.fsk.process(samples);
    this.dtmf?.process(samples);
  }

  private onCharacter(c: FskCharacter): void {
    if (c.markBitsBefore >= MIN_MARK_BITS) {
      if (this.msg.length > 0) this.abandon(true);
      if (isCallerIdType(c.byte)) this.msg = [c.byte];
      return;
    }
    if (this.msg.length === 0) return; // channel seizure or noise between messages
    this.msg.push(c.byte);
    const len = this.msg[1];
    if (len !== undefined && this.msg.length === len + 3) {
      const bytes = Uint8Array.from(this.msg);
      this.msg = [];
      let id: CallerId;
      try {
        id = decodeCallerIdMessage(bytes);
      } catch {
        this.errors++;
        return;
      }
      this.opts.onCallerId(id);
    }
  }

  private abandon(counted = false): void {
    if (counted && this.msg.length > 0) this.errors++;
    this.msg = [];
  }

  private onKey(key: string, start: number, end: number): void {
    if (this.keys.length > 0 && start - this.lastKeyEnd > DTMF_GAP_SAMPLES) this.keys = '';
    this.lastKeyEnd = end;
    this.keys += key;
    if (key !== 'C' && key !== '#') {
      if (this.keys.length > 40) this.keys = '';
      return;
    }
    const keys = this.keys;
    this.keys = '';
    let id: CallerId;
    try {
      id = decodeDtmfCallerId(keys);
    } catch {
      this.errors++;
      return;
    }
    this.opts.onCallerId(id);
  }
}
