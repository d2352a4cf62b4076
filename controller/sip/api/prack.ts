/**
 * Reliable provisional responses, RFC 3262, both sides.
 *
 * UAC (we sent the INVITE): a 101–199 with `Require: 100rel` and an RSeq is acknowledged with a
 * PRACK in the early dialog (§7.1, §7.2): Request-URI = the response's Contact, Route = its
 * Record-Route reversed, To with the response's tag, `RAck: <RSeq> <INVITE CSeq> INVITE`. Only
 * the next RSeq in order is PRACKed; retransmissions and older ones are discarded (§4).
 *
 * UAS (the INVITE had `Require: 100rel`): each 18x goes out with `Require: 100rel` and `RSeq`
 * (starting at a random value below 2^31, §3), retransmitted at T1 doubling until the PRACK whose
 * RAck matches; without one in 64*T1 the INVITE is answered 504 by the owner (§3). A second
 * reliable 18x waits until the first is acknowledged (§3).
 */
import { randomInt } from 'node:crypto';
import type { TimerHandle } from '../../../hw/base/clock';
import { addHeader, cseq, header, headerValues, newRequest, type SipRequest, type SipResponse } from '../core/messages/message';
import { parseNameAddr } from '../core/messages/name-addr';
import type { InviteServerTransaction } from '../core/transactions/invite-server';
import type { UaContext } from './ua-context';

function hasOption(msg: SipRequest | SipResponse, name: 'require' | 'supported', option: string): boolean {
  return headerValues(msg, name).some((v) => v.trim().toLowerCase() === option);
}

/** The RSeq of a reliable provisional response, or undefined when it is not one (§7.1). */
export function reliableRSeq(res: SipResponse): number | undefined {
  if (res.status <= 100 || res.status >= 200 || !hasOption(res, 'require', '100rel')) return undefined;
  const m = /^\s*([0-9]{1,10})\s*$/.exec(header(res, 'rseq') ?? '');
  const n = m ? Number(m[1]) : NaN;
  return n >= 1 && n < 2 ** 32 ? n : undefined;
}

/** The PRACK for a reliable provisional response (§7.2), without Via (the UA core adds it). */
export function buildPrack(invite: SipRequest, res: SipResponse, seq: number, rseq: number, userAgent: string): SipRequest {
  const contact = header(res, 'contact');
  const prack = newRequest('PRACK', contact !== undefined ? parseNameAddr(contact).uri : invite.uri);
  for (const r of headerValues(res, 'record-route').reverse()) addHeader(prack, 'Route', r);
  addHeader(prack, 'Max-Forwards', '70');
  addHeader(prack, 'From', header(invite, 'from') ?? '');
  addHeader(prack, 'To', header(res, 'to') ?? '');
  addHeader(prack, 'Call-ID', header(invite, 'call-id') ?? '');
  addHeader(prack, 'CSeq', `${seq} PRACK`);
  addHeader(prack, 'RAck', `${rseq} ${cseq(invite).seq} INVITE`);
  addHeader(prack, 'User-Agent', userAgent);
  return prack;
}

/** Does the INVITE require reliable provisional responses from us? */
export function requires100rel(invite: SipRequest): boolean {
  return hasOption(invite, 'require', '100rel');
}

/** UAS side: sends 18x reliably and matches PRACKs (§3). */
export class ReliableProvisionals {
  private nextRSeq = randomInt(1, 2 ** 30);
  private pending: { rseq: number; res: SipResponse; timer: TimerHandle | undefined } | undefined;
  /** Responses waiting for the previous one's PRACK. */
  private readonly queue: SipResponse[] = [];

  constructor(
    private readonly ua: UaContext,
    private readonly tx: InviteServerTransaction,
    private readonly inviteSeq: number,
    /** No PRACK within 64*T1 (§3): the owner rejects the INVITE. */
    private readonly onGiveUp: () => void,
  ) {}

  /** Every reliable provisional sent so far was PRACKed. */
  get settled(): boolean {
    return this.pending === undefined && this.queue.length === 0;
  }

  send(res: SipResponse): void {
    if (this.pending) {
      this.queue.push(res);
      return;
    }
    const rseq = this.nextRSeq++;
    addHeader(res, 'Require', '100rel');
    addHeader(res, 'RSeq', String(rseq));
    this.pending = { rseq, res, timer: undefined };
    this.tx.respond(res);
    this.retransmit(this.ua.timers.t1Ms, 0);
  }

  /** A PRACK in the early dialog: true (answer 200) when its RAck matches the pending response. */
  prack(req: SipRequest): boolean {
    const m = /^\s*([0-9]{1,10})\s+([0-9]{1,10})\s+INVITE\s*$/i.exec(header(req, 'rack') ?? '');
    const p = this.pending;
    if (!m || !p || Number(m[1]) !== p.rseq || Number(m[2]) !== this.inviteSeq) return false;
    p.timer?.cancel();
    this.pending = undefined;
    const next = this.queue.shift();
    if (next) this.send(next);
    return true;
  }

  stop(): void {
    this.pending?.timer?.cancel();
    this.pending = undefined;
    this.queue.length = 0;
  }

  private retransmit(intervalMs: number, elapsedMs: number): void {
    const p = this.pending;
    if (!p) return;
    const limitMs = 64 * this.ua.timers.t1Ms;
    const waitMs = Math.min(intervalMs, limitMs - elapsedMs);
    p.timer = this.ua.clock.setTimeout(() => {
      if (this.pending !== p) return;
      if (elapsedMs + waitMs >= limitMs) {
        this.stop();
        this.onGiveUp();
        return;
      }
      this.tx.respond(p.res);
      this.retransmit(2 * intervalMs, elapsedMs + waitMs);
    }, waitMs);
  }
}
