/**
 * A SIP dialog, RFC 3261 §12: the peer-to-peer relationship an INVITE's 2xx creates.
 *
 *   confirmed --BYE sent/received, or 2xx never ACKed--> terminated
 *
 * Early dialogs (from 1xx with a To tag) come in a later round; this round creates dialogs from
 * the 2xx only (§12.1.1 UAS side, §12.1.2 UAC side).
 *
 * State: Call-ID, local/remote tags, local/remote URIs, local CSeq (next request), remote CSeq
 * (last request seen, §12.2.2), remote target (the peer's Contact, §12.1), route set
 * (Record-Route, reversed on the UAC side). Requests in the dialog use loose routing (§12.2.1.1):
 * Request-URI = remote target, Route = route set. Strict routers come later.
 */
import { TonewallError } from '../../../../hw/base/errors';
import type { Clock } from '../../../../hw/base/clock';
import { addHeader, cseq, header, headerValues, newRequest, type SipRequest, type SipResponse } from '../messages/message';
import { formatNameAddr, parseNameAddr } from '../messages/name-addr';
import { parseSipUri } from '../messages/uri';
import { StateMachine, type TransitionTable } from '../transactions/state-machine';
import type { Destination } from '../transactions/transaction';

export type DialogState = 'confirmed' | 'terminated';

const TABLE: TransitionTable<DialogState> = { confirmed: ['terminated'], terminated: [] };

export interface DialogInit {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** The From (UAC) / To (UAS) header value of our side, as sent. */
  localAddr: string;
  remoteAddr: string;
  localSeq: number;
  remoteSeq: number | undefined;
  remoteTarget: string;
  routeSet: string[];
}

function tagOf(value: string, what: string): string {
  const tag = parseNameAddr(value).params.get('tag');
  if (tag === undefined || tag === null || tag === '') throw new TonewallError('ESIPDIALOG', `${what} "${value}" has no tag (RFC 3261 §12.1)`);
  return tag;
}

function contactUri(msg: SipRequest | SipResponse, what: string): string {
  const c = header(msg, 'contact');
  if (c === undefined) throw new TonewallError('ESIPMISSING', `${what} lacks the Contact header a dialog needs (RFC 3261 §12.1)`);
  return parseNameAddr(c).uri;
}

export class Dialog {
  private readonly sm: StateMachine<DialogState>;
  private state: DialogInit;

  private constructor(init: DialogInit, clock: Clock) {
    this.state = init;
    this.sm = new StateMachine(`dialog ${init.callId}`, TABLE, 'confirmed', clock);
  }

  /** UAC side, §12.1.2: from our INVITE and the 2xx that answered it. */
  static fromUac(invite: SipRequest, res: SipResponse, clock: Clock, localSeq?: number): Dialog {
    const localAddr = header(invite, 'from') ?? '';
    const remoteAddr = header(res, 'to') ?? '';
    return new Dialog(
      {
        callId: header(invite, 'call-id') ?? '',
        localTag: tagOf(localAddr, 'From'),
        remoteTag: tagOf(remoteAddr, 'To of the 2xx'),
        localAddr,
        remoteAddr,
        // PRACKs sent in the early dialog (RFC 3262 §7.2) used CSeq numbers after the INVITE's.
        localSeq: Math.max(cseq(invite).seq, localSeq ?? 0),
        remoteSeq: undefined,
        remoteTarget: contactUri(res, `${res.status} response`),
        routeSet: headerValues(res, 'record-route').reverse(),
      },
      clock,
    );
  }

  /** UAS side, §12.1.1: from the INVITE received and the To tag we chose. */
  static fromUas(invite: SipRequest, localTag: string, clock: Clock): Dialog {
    const remoteAddr = header(invite, 'from') ?? '';
    const toValue = header(invite, 'to') ?? '';
    const to = parseNameAddr(toValue);
    to.params.set('tag', localTag);
    return new Dialog(
      {
        callId: header(invite, 'call-id') ?? '',
        localTag,
        remoteTag: tagOf(remoteAddr, 'From'),
        localAddr: formatNameAddr(to),
        remoteAddr,
        localSeq: 0,
        remoteSeq: cseq(invite).seq,
        remoteTarget: contactUri(invite, 'INVITE'),
        routeSet: headerValues(invite, 'record-route'),
      },
      clock,
    );
  }

  get id(): string {
    return `${this.state.callId};${this.state.localTag};${this.state.remoteTag}`;
  }

  get callId(): string {
    return this.state.callId;
  }

  get status(): DialogState {
    return this.sm.state;
  }

  get remoteTarget(): string {
    return this.state.remoteTarget;
  }

  get routeSet(): readonly string[] {
    return this.state.routeSet;
  }

  get localSeq(): number {
    return this.state.localSeq;
  }

  get localUri(): string {
    return parseNameAddr(this.state.localAddr).uri;
  }

  /** A target refresh (re-INVITE, UPDATE, §12.2.1.2 / §12.2.2) replaces the remote target by its Contact. */
  refreshTarget(msg: SipRequest | SipResponse): void {
    const c = header(msg, 'contact');
    if (c === undefined) return;
    this.state = { ...this.state, remoteTarget: parseNameAddr(c).uri };
  }

  /** Does this in-dialog request or response belong here (Call-ID and both tags, §12.2.2)? */
  matchesRequest(req: SipRequest): boolean {
    if (header(req, 'call-id') !== this.state.callId) return false;
    const toTag = parseNameAddr(header(req, 'to') ?? '').params.get('tag');
    const fromTag = parseNameAddr(header(req, 'from') ?? '').params.get('tag');
    return toTag === this.state.localTag && fromTag === this.state.remoteTag;
  }

  /** §12.2.2: a lower CSeq than the last one seen is out of order (answer 500). */
  acceptRemoteSeq(req: SipRequest): boolean {
    const seq = cseq(req).seq;
    if (this.state.remoteSeq !== undefined && seq < this.state.remoteSeq && req.method !== 'ACK') return false;
    if (req.method !== 'ACK') this.state = { ...this.state, remoteSeq: seq };
    return true;
  }

  /**
   * A request within the dialog (§12.2.1.1), without Via (the UA core adds it with a new branch).
   * ACK reuses the INVITE's CSeq number (§13.2.2.4); other methods increment the local CSeq.
   */
  createRequest(method: string, ackForSeq?: number): SipRequest {
    let seq: number;
    if (method === 'ACK') {
      seq = ackForSeq ?? this.state.localSeq;
    } else {
      seq = this.state.localSeq + 1;
      this.state = { ...this.state, localSeq: seq };
    }
    const req = newRequest(method, this.state.remoteTarget);
    for (const r of this.state.routeSet) addHeader(req, 'Route', r);
    addHeader(req, 'Max-Forwards', '70');
    addHeader(req, 'From', this.state.localAddr);
    addHeader(req, 'To', this.state.remoteAddr);
    addHeader(req, 'Call-ID', this.state.callId);
    addHeader(req, 'CSeq', `${seq} ${method}`);
    return req;
  }

  /** Where in-dialog requests go: the first Route, else the remote target (§8.1.2, no DNS SRV yet). */
  destination(): Destination {
    const first = this.state.routeSet[0];
    return uriDestination(first !== undefined ? parseNameAddr(first).uri : this.state.remoteTarget);
  }

  terminate(): void {
    if (this.sm.state !== 'terminated') this.sm.to('terminated');
  }
}

/** host:port of a sip:/sips: URI; default ports 5060/5061 (§19.1.2). maddr is honoured. */
export function uriDestination(uriText: string): Destination {
  const uri = parseSipUri(uriText);
  const maddr = uri.params.get('maddr');
  // §19.1.4 / §26.2.1: sips: → TLS, `;transport=` names it; a plain sip: URI → the agent's primary transport.
  const t = uri.params.get('transport')?.toLowerCase();
  const protocol = uri.scheme === 'sips' ? 'TLS' : t === 'tcp' ? 'TCP' : t === 'tls' ? 'TLS' : t === 'udp' ? 'UDP' : undefined;
  return { address: maddr ?? uri.host, port: uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060), ...(protocol ? { protocol } : {}) };
}
