/**
 * The transaction layer, RFC 3261 §17: turns datagrams from the transport into messages, matches
 * them to transactions (§17.1.3 client, §17.2.3 server) and hands everything else to the UA core.
 *
 * - Incoming requests get `received` / `rport` on the top Via (§18.2.1, RFC 3581 §4) so responses
 *   go back where the request came from (§18.2.2, RFC 3581 §4).
 * - A request that matches no transaction starts a server transaction (ACK excepted: an ACK that
 *   matches no INVITE server transaction is the ACK for a 2xx and goes to the core, §17.2.3).
 * - A response that matches no client transaction goes to the core as a stray (2xx
 *   retransmissions after the INVITE client transaction has terminated, §13.2.2.4).
 * - Unparseable datagrams are counted and logged, never thrown upward; a malformed request is
 *   answered 400 with the parser's error in a Warning header when that is possible (§8.2).
 */
import type { Clock } from '../../../hw/base/clock';
import { TonewallError, errorMessage } from '../../../hw/base/errors';
import type { Logger } from '../../../hw/base/logger';
import { badRequestFor } from './messages/bad-request';
import { buildResponse } from './messages/build';
import { cseq, header, topVia, type SipMessage, type SipRequest, type SipResponse } from './messages/message';
import { parseMessage, serializeMessage } from './messages/parser';
import { formatVia, viaBranch } from './messages/via';
import type { RemoteInfo, SipTransport, SipTransportProtocol } from './transport';
import { InviteClientTransaction } from './transactions/invite-client';
import { InviteServerTransaction } from './transactions/invite-server';
import { NonInviteClientTransaction } from './transactions/non-invite-client';
import { NonInviteServerTransaction } from './transactions/non-invite-server';
import { DEFAULT_SIP_TIMERS, type ClientTransactionUser, type Destination, type SipTimerValues, type TransactionContext } from './transactions/transaction';

export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;
export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;

/** What the UA core receives from the transaction layer. */
export interface TransactionUserCore {
  /** A new request with its server transaction. */
  onRequest(req: SipRequest, tx: ServerTransaction, from: RemoteInfo): void;
  /** An ACK that matched no INVITE server transaction (ACK for a 2xx). */
  onAck(ack: SipRequest, from: RemoteInfo): void;
  /** A response that matched no client transaction. */
  onStrayResponse(res: SipResponse, from: RemoteInfo): void;
}

export interface TransactionLayerCounters {
  received: number;
  sent: number;
  parseErrors: number;
  strayResponses: number;
}

function serverKey(req: SipRequest): string {
  const via = topVia(req);
  const branch = viaBranch(via) ?? `nobranch:${header(req, 'call-id') ?? ''}:${cseq(req).seq}`;
  const method = req.method === 'ACK' ? 'INVITE' : req.method;
  return `${branch}|${via.host}:${via.port ?? 5060}|${method}`;
}

function clientKey(msg: SipMessage): string {
  return `${viaBranch(topVia(msg)) ?? ''}|${cseq(msg).method === 'ACK' ? 'INVITE' : cseq(msg).method}`;
}

export class TransactionLayer {
  readonly counters: TransactionLayerCounters = { received: 0, sent: 0, parseErrors: 0, strayResponses: 0 };
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly ctx: TransactionContext;
  private readonly extra = new Map<SipTransportProtocol, SipTransport>();
  core: TransactionUserCore | undefined;

  constructor(
    private readonly transport: SipTransport,
    clock: Clock,
    private readonly log: Logger,
    timers: SipTimerValues = DEFAULT_SIP_TIMERS,
    /** Product token for the Warning header of 400 responses. */
    private readonly userAgent = 'tonewall',
  ) {
    this.ctx = { clock, log, timers, reliable: transport.reliable, send: (msg, dest) => this.send(msg, dest) };
    transport.on('message', (data, from) => this.receive(data, from));
  }

  /**
   * A further transport (per-trunk transports, docs/sip.md): messages arriving on it are marked with
   * its protocol, so server transactions answer over it; requests to a Destination naming it go out
   * on it, with the retransmission timers its reliability asks for.
   */
  addTransport(t: SipTransport): void {
    if (t.protocol === this.transport.protocol || this.extra.has(t.protocol)) throw new TonewallError('ESIPTRANSPORT', `a ${t.protocol} transport is already attached`);
    this.extra.set(t.protocol, t);
    t.on('message', (data, from) => this.receive(data, { ...from, protocol: t.protocol }));
  }

  /** The transport for `protocol` (absent or the primary's: the primary). */
  transportFor(protocol: SipTransportProtocol | undefined): SipTransport | undefined {
    if (protocol === undefined || protocol === this.transport.protocol) return this.transport;
    return this.extra.get(protocol);
  }

  private ctxFor(dest: Destination): TransactionContext {
    const t = this.transportFor(dest.protocol);
    return t && t.reliable !== this.ctx.reliable ? { ...this.ctx, reliable: t.reliable } : this.ctx;
  }

  /** Serializes and sends outside any transaction (ACK for 2xx, 2xx retransmissions). */
  send(msg: SipMessage, dest: Destination): void {
    this.counters.sent++;
    const data = serializeMessage(msg);
    // A URI naming a transport this agent does not run (a peer's Contact with ;transport=tcp while
    // we run UDP only) goes over the primary one, as before there were several.
    const t = this.transportFor(dest.protocol) ?? this.transport;
    this.log.trace('send', { to: `${dest.address}:${dest.port}`, text: () => data.toString('utf8') });
    t.send(data, dest.address, dest.port);
  }

  sendRequest(req: SipRequest, dest: Destination, user: ClientTransactionUser): ClientTransaction {
    const key = clientKey(req);
    const ctx = this.ctxFor(dest);
    const tx = req.method === 'INVITE'
      ? new InviteClientTransaction(key, req, dest, ctx, user)
      : new NonInviteClientTransaction(key, req, dest, ctx, user);
    this.clients.set(key, tx);
    tx.onTerminated = () => this.clients.delete(key);
    tx.start();
    return tx;
  }

  /** The INVITE server transaction a CANCEL refers to (§9.2: same branch, method INVITE). */
  findInviteServerTransaction(cancel: SipRequest): InviteServerTransaction | undefined {
    const tx = this.servers.get(serverKey({ ...cancel, method: 'INVITE' }));
    return tx instanceof InviteServerTransaction ? tx : undefined;
  }

  /** Stops all transactions and their timers. */
  shutdown(): void {
    for (const tx of [...this.clients.values(), ...this.servers.values()]) tx.terminate();
    this.clients.clear();
    this.servers.clear();
  }

  receive(data: Buffer, from: RemoteInfo): void {
    this.counters.received++;
    let msg: SipMessage;
    try {
      msg = parseMessage(data);
    } catch (err) {
      this.counters.parseErrors++;
      this.log.warn('dropped unparseable SIP datagram', { from: `${from.address}:${from.port}`, error: errorMessage(err), bytes: data.length });
      // §8.2: answer a malformed request 400 when its Via/From/To/Call-ID/CSeq can be found; the
      // response goes back to the source address and port (RFC 3581 §4 behaviour).
      const bad = badRequestFor(data, errorMessage(err), this.userAgent, err instanceof TonewallError && err.code === 'ESIPVERSION' ? 505 : 400);
      if (bad) this.send(bad, { address: from.address, port: from.port });
      return;
    }
    this.log.trace('recv', { from: `${from.address}:${from.port}`, text: () => data.toString('utf8') });
    try {
      if (msg.kind === 'request') this.receiveRequest(msg, from);
      else this.receiveResponse(msg, from);
    } catch (err) {
      this.counters.parseErrors++;
      this.log.warn('dropped SIP message', { from: `${from.address}:${from.port}`, error: errorMessage(err) });
    }
  }

  private receiveResponse(res: SipResponse, from: RemoteInfo): void {
    const tx = this.clients.get(clientKey(res));
    if (tx) {
      tx.receiveResponse(res);
      return;
    }
    this.counters.strayResponses++;
    this.core?.onStrayResponse(res, from);
  }

  private receiveRequest(req: SipRequest, from: RemoteInfo): void {
    const via = topVia(req);
    if (via.host !== from.address) via.params.set('received', from.address);
    if (via.params.has('rport')) via.params.set('rport', String(from.port));
    const vias = req.headers.filter((h) => h.name === 'via');
    const first = vias[0];
    if (first) first.value = formatVia(via);
    const key = serverKey(req);
    const existing = this.servers.get(key);
    if (req.method === 'ACK') {
      if (existing instanceof InviteServerTransaction) existing.receiveAck();
      else this.core?.onAck(req, from);
      return;
    }
    if (existing) {
      existing.receiveRequest();
      return;
    }
    const dest = responseDestination(req, from);
    const ctx = this.ctxFor(dest);
    const tx = req.method === 'INVITE'
      ? new InviteServerTransaction(key, req, dest, ctx)
      : new NonInviteServerTransaction(key, req, dest, ctx);
    this.servers.set(key, tx);
    tx.onTerminated = () => this.servers.delete(key);
    if (tx instanceof InviteServerTransaction) tx.respond(buildResponse(req, 100));
    if (this.core) this.core.onRequest(req, tx, from);
    else tx.respond(buildResponse(req, 503));
  }
}

/** §18.2.2 with RFC 3581: responses go to received (or sent-by host) and rport (or sent-by port). */
export function responseDestination(req: SipRequest, from: RemoteInfo): Destination {
  const via = topVia(req);
  const received = via.params.get('received') ?? via.host;
  const rport = via.params.get('rport');
  const port = rport !== undefined && rport !== null ? Number(rport) : via.port ?? 5060;
  // Over the transport the request came in on (§18.2.2).
  return { address: received, port, ...(from.protocol ? { protocol: from.protocol } : {}) };
}


