/**
 * Registration with a trunk's registrar, RFC 3261 §10.2, as an explicit state machine:
 *
 *             start()                 2xx (granted expiry)
 *   off -----------------> registering ------------------> registered
 *                            ^   |  \ 423 + Min-Expires:          | refresh timer
 *                            |   |   \ retry at once (§10.2.8)    | (before expiry)
 *                 retry timer|   |    `------> registering  <-----+
 *                            |   v failure (4xx-6xx, 408, transport)
 *                           failed  (backoff: retryMin doubling to retryMax)
 *   any --stop()--> off (a REGISTER with Expires: 0 is sent when registered, §10.2.2)
 *
 * - One Call-ID for every REGISTER of this binding and CSeq increasing (§10.2.4); digest challenges
 *   are answered by the user agent (RFC 3261 §22), which raises CSeq as it retries.
 * - The granted expiry is the Contact's `expires` for our binding, else the Expires header, else
 *   what we asked (§10.2.4); the refresh goes out at the later of half of it and 60 s before it.
 */
import type { Clock, TimerHandle } from '../../../hw/base/clock';
import type { Logger } from '../../../hw/base/logger';
import { TonewallError } from '../../../hw/base/errors';
import { cseq, header, headerValues, type SipResponse } from '../core/messages/message';
import { newCallId } from '../core/messages/build';
import { parseNameAddr } from '../core/messages/name-addr';
import type { OutOfDialogRequest, OutOfDialogResult } from './out-of-dialog';

export type RegistrationState = 'off' | 'registering' | 'registered' | 'failed';

const TABLE: Readonly<Record<RegistrationState, readonly RegistrationState[]>> = {
  off: ['registering'],
  registering: ['registered', 'failed', 'registering', 'off'],
  registered: ['registering', 'off'],
  failed: ['registering', 'off'],
};

export interface RegistrationOptions {
  /** Registrar Request-URI (§10.2: the domain, no user part). */
  registrarUri: string;
  /** Address of record (To and From). */
  aor: string;
  /** Our Contact URI for the binding. */
  contactUri: string;
  expiresS: number;
  retryMinS: number;
  retryMaxS: number;
  send(r: OutOfDialogRequest): Promise<OutOfDialogResult>;
  clock: Clock;
  log: Logger;
  onChange(state: RegistrationState, detail: string | null): void;
}

/** The refresh delay for a granted expiry, ms. */
export function refreshDelayMs(grantedS: number): number {
  return Math.max(grantedS / 2, grantedS - 60) * 1000;
}

/** The failure backoff for the n-th failure in a row (n ≥ 1), ms. */
export function backoffDelayMs(n: number, minS: number, maxS: number): number {
  return Math.min(maxS, minS * 2 ** Math.min(n - 1, 20)) * 1000;
}

export class TrunkRegistration {
  private current: RegistrationState = 'off';
  private readonly callId: string;
  private nextCseq = 1;
  private expiresS: number;
  private failuresInRow = 0;
  private timer: TimerHandle | undefined;
  private generation = 0;

  constructor(private readonly o: RegistrationOptions) {
    this.callId = newCallId('tonewall');
    this.expiresS = o.expiresS;
  }

  get state(): RegistrationState {
    return this.current;
  }

  start(): void {
    if (this.current === 'off') this.register();
  }

  /** Stops refreshing; unregisters (Expires: 0) when registered. */
  async stop(): Promise<void> {
    const wasRegistered = this.current === 'registered';
    this.timer?.cancel();
    this.generation++;
    if (this.current !== 'off') this.to('off', null);
    if (wasRegistered) await this.o.send(this.request(0)).catch(() => undefined);
  }

  private to(next: RegistrationState, detail: string | null): void {
    if (!TABLE[this.current].includes(next)) throw new TonewallError('ESIPSTATE', `registration ${this.o.aor}: illegal transition ${this.current} -> ${next}`);
    const changed = next !== this.current;
    this.current = next;
    if (changed || next === 'failed') this.o.onChange(next, detail);
  }

  private request(expiresS: number): OutOfDialogRequest {
    const r: OutOfDialogRequest = {
      method: 'REGISTER', requestUri: this.o.registrarUri, toUri: this.o.aor, fromUri: this.o.aor, callId: this.callId,
      cseq: this.nextCseq++, contact: `<${this.o.contactUri}>`, headers: { Expires: String(expiresS) },
    };
    return r;
  }

  private register(): void {
    this.timer?.cancel();
    this.to('registering', null);
    const gen = ++this.generation;
    void this.o.send(this.request(this.expiresS)).then((res) => {
      if (gen === this.generation) this.onResult(res);
    });
  }

  private onResult(r: OutOfDialogResult): void {
    if (r.response) this.nextCseq = Math.max(this.nextCseq, cseq(r.response).seq + 1);
    if (r.status >= 200 && r.status < 300 && r.response) {
      const granted = this.granted(r.response);
      this.failuresInRow = 0;
      this.to('registered', null);
      this.o.log.info('registered with the trunk', { aor: this.o.aor, expiresS: granted });
      this.timer = this.o.clock.setTimeout(() => this.register(), refreshDelayMs(granted));
      return;
    }
    const minExpires = r.response ? Number(header(r.response, 'min-expires')) : NaN;
    if (r.status === 423 && Number.isInteger(minExpires) && minExpires > this.expiresS) {
      this.o.log.info('registrar asks for a longer expiry (423)', { aor: this.o.aor, minExpiresS: minExpires });
      this.expiresS = minExpires;
      this.register();
      return;
    }
    this.failuresInRow++;
    const delay = backoffDelayMs(this.failuresInRow, this.o.retryMinS, this.o.retryMaxS);
    const detail = `REGISTER ${r.status} ${r.transportError ?? r.reason}`;
    this.o.log.warn('registration failed', { aor: this.o.aor, status: r.status, reason: r.transportError ?? r.reason, retryInMs: delay });
    this.to('failed', detail);
    this.timer = this.o.clock.setTimeout(() => this.register(), delay);
  }

  private granted(res: SipResponse): number {
    for (const c of headerValues(res, 'contact')) {
      try {
        const na = parseNameAddr(c);
        const e = Number(na.params.get('expires'));
        if (na.uri === this.o.contactUri && Number.isInteger(e) && e > 0) return e;
      } catch {
        // a Contact we cannot parse is not ours
      }
    }
    const e = Number(header(res, 'expires'));
    return Number.isInteger(e) && e > 0 ? e : this.expiresS;
  }
}
