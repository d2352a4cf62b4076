/**
 * The SIP user agent the call manager uses (and the demo endpoint is built from): places outgoing
 * calls, offers incoming ones, answers OPTIONS, routes in-dialog BYE/ACK to their calls.
 *
 * Layering (SIP.js style): api/ imports core/ (transport, transaction layer, dialogs, messages);
 * core/ never imports api/. This class is the UA core of RFC 3261 §8/§12/§13 plus the public API.
 *
 * Requests outside a dialog (§8.2): INVITE → IncomingCall ('incoming-call'; 480 when nobody
 * listens), OPTIONS → 200 with Allow/Accept/Supported (§11.2), CANCEL → 200 + 487 on the INVITE or
 * 481 (§9.2), BYE/other in-dialog requests without a dialog → 481, methods we know but do not serve
 * (REGISTER, SUBSCRIBE, …) → 405, unknown methods → 501 (§8.2.1), an unknown Request-URI scheme → 416,
 * Require with an extension we lack → 420 (§8.2.2).
 */
import type { Clock } from '../../../hw/base/clock';
import { systemClock } from '../../../hw/base/clock';
import type { Logger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { SipConfig } from '../../config/schema';
import { buildResponse, newBranch, newCallId, newTag } from '../core/messages/build';
import { addHeader, header, headerValues, newRequest, type SipRequest, type SipResponse } from '../core/messages/message';
import { formatNameAddr, parseNameAddr } from '../core/messages/name-addr';
import { formatHostPort, parseSipUri } from '../core/messages/uri';
import { TransactionLayer, type ClientTransaction, type ServerTransaction } from '../core/transaction-layer';
import { InviteServerTransaction } from '../core/transactions/invite-server';
import { DEFAULT_SIP_TIMERS, type ClientTransactionUser, type Destination, type SipTimerValues } from '../core/transactions/transaction';
import type { RemoteInfo, SipTransport, SipTransportProtocol } from '../core/transport';
import { explicitTransportForUri, openConfiguredTransport, openTransport, trunkProtocols } from '../core/transport-factory';
import { DigestAuthenticator, type CredentialLookup } from '../auth/authenticator';
import { sendWithDigestRetry } from '../auth/auth-retry';
import { SipTransportError } from '../core/transport-stream';
import { uriDestination } from '../core/dialogs/dialog';
import { sendWithFailover, type TrunkAttempt } from '../trunk/failover';
import { buildOutOfDialogRequest, type OutOfDialogRequest, type OutOfDialogResult } from '../trunk/out-of-dialog';
import type { TrunkRouter } from '../trunk/trunk-set';
import { EdgeFilteredTransport, edgeTransport } from '../edge/edge-transport';
import type { EdgeStats } from '../edge/edge-policy';
import { TonewallError } from '../../../hw/base/errors';
import { IncomingCall } from './incoming-call';
import { OutgoingCall } from './outgoing-call';
import { ALLOWED_METHODS, type UaContext } from './ua-context';
import type { SessionTimerPolicy } from '../core/dialogs/session-timer';


/** Methods of RFC 3261 and its extensions we recognise but do not serve (answered 405). */
const KNOWN_METHODS: readonly string[] = ['REGISTER', 'SUBSCRIBE', 'NOTIFY', 'MESSAGE', 'REFER', 'PUBLISH'];
/** Option tags we support (Require → 420 otherwise). */
const UA_OPTIONS: readonly string[] = ['timer', '100rel'];

export interface InviteRequest {
  /** Where to call, e.g. `sip:100@10.0.0.5:5060`. */
  requestUri: string;
  /** The caller's number: the From user part. */
  fromUser: string;
  fromDisplayName?: string;
  /** Extra headers (e.g. the appliance call id under `config.callIdHeader`). */
  headers?: Record<string, string>;
  sdpOffer: string;
}

export interface SipUserAgentOptions {
  config: SipConfig;
  log: Logger;
  clock?: Clock;
  /** An already-open transport; when absent start() binds UDP on config.bindAddress:bindPort. */
  transport?: SipTransport;
  /** RFC 3261 timer values (tests shorten them). */
  timers?: SipTimerValues;
  /** RFC 4028 session timer: interval asked for and minimum accepted (default 1800 s / 90 s). */
  sessionTimer?: SessionTimerPolicy;
  /** stop() waits at most this long for BYE/CANCEL answers before closing (default 2000 ms). */
  stopTimeoutMs?: number;
  /** Digest credentials for 401/407 challenges (RFC 3261 §22; the trunks install theirs with setCredentials). */
  credentials?: CredentialLookup;
}

export interface SipUserAgentEvents {
  'incoming-call': [call: IncomingCall];
  warning: [message: string];
  /** A transport failure toward a destination (connect refused, TLS verification, stream framing). */
  'transport-error': [destination: RemoteInfo, message: string];
}

export class SipUserAgent extends TypedEmitter<SipUserAgentEvents> {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly timers: SipTimerValues;
  private transport: SipTransport | undefined;
  private readonly extraTransports: SipTransport[] = [];
  private layer: TransactionLayer | undefined;
  private readonly outgoing = new Map<string, OutgoingCall>();
  private readonly incoming = new Map<string, IncomingCall>();
  private readonly incomingByTx = new Map<InviteServerTransaction, IncomingCall>();
  private readonly ownsTransport: boolean;
  private authenticator: DigestAuthenticator | undefined;
  private router: TrunkRouter | undefined;
  private readonly failoverPlans = new Map<string, TrunkAttempt[]>();
  private drainRetryAfterS: number | undefined;

  constructor(private readonly opts: SipUserAgentOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log.child('sip');
    this.timers = opts.timers ?? { ...DEFAULT_SIP_TIMERS };
    this.transport = opts.transport;
    this.ownsTransport = opts.transport === undefined;
    this.setCredentials(opts.credentials);
  }

  /** Credentials answered to 401/407 challenges on every request we send (auth/authenticator.ts). */
  setCredentials(lookup: CredentialLookup | undefined): void {
    this.authenticator = lookup ? new DigestAuthenticator(lookup, this.log) : undefined;
  }

  /** The trunks (trunk/trunk-set.ts) plan new calls and fail over (trunk/failover.ts); undefined: none. */
  setTrunkRouter(router: TrunkRouter | undefined): void {
    this.router = router;
  }

  /**
   * Drain: new calls are refused both ways (incoming INVITE: 503 with Retry-After, RFC 3261
   * §21.5.4 / §20.33; invite() throws ESIPDRAINING); calls in progress go on to their end.
   */
  setDraining(on: boolean, retryAfterS = 300): void {
    this.drainRetryAfterS = on ? retryAfterS : undefined;
    this.log.info(on ? 'SIP draining: new calls refused' : 'SIP drain ended');
  }

  get draining(): boolean {
    return this.drainRetryAfterS !== undefined;
  }

  /** SIP edge counters (accepted, refused by reason, bans), when the edge runs (sip.edge.enabled). */
  get edgeStats(): EdgeStats | undefined {
    return this.transport instanceof EdgeFilteredTransport ? this.transport.stats : undefined;
  }

  /** Sends OPTIONS or REGISTER outside a dialog; resolves with the final outcome (never rejects). */
  request(r: OutOfDialogRequest): Promise<OutOfDialogResult> {
    if (!this.layer) return Promise.resolve({ status: 503, reason: 'Service Unavailable', response: undefined, rttMs: 0, transportError: 'the SIP user agent is not running' });
    const ctx = this.context();
    const req = buildOutOfDialogRequest(r, this.opts.config.userAgent);
    const dest = uriDestination(r.requestUri);
    const t0 = this.clock.monotonicMs();
    return new Promise<OutOfDialogResult>((resolve) => {
      const done = (result: OutOfDialogResult): void => {
        this.off('transport-error', onError);
        resolve(result);
      };
      const onError = (d: RemoteInfo, message: string): void => {
        if (d.address === dest.address && d.port === dest.port) done({ status: 503, reason: 'Service Unavailable', response: undefined, rttMs: this.clock.monotonicMs() - t0, transportError: message });
      };
      this.on('transport-error', onError);
      ctx.sendRequest(req, dest, {
        onResponse: (res) => {
          if (res.status >= 200) done({ status: res.status, reason: res.reason, response: res, rttMs: this.clock.monotonicMs() - t0 });
        },
        onTimeout: () => done({ status: 408, reason: 'no response (Timer F)', response: undefined, rttMs: this.clock.monotonicMs() - t0 }),
      });
    });
  }

  /** Every request we send: digest retries (auth/), and trunk failover for a new call's INVITE. */
  private sendOut(layer: TransactionLayer, req: SipRequest, dest: Destination, user: ClientTransactionUser): ClientTransaction {
    const send = (r: SipRequest, d: Destination, u: ClientTransactionUser): ClientTransaction =>
      sendWithDigestRetry({ req: r, dest: d, user: u, authenticator: this.authenticator, newVia: () => this.newVia(d.protocol), send: (r2, u2) => layer.sendRequest(r2, d, u2) });
    const callId = header(req, 'call-id') ?? '';
    const attempts = req.method === 'INVITE' ? this.failoverPlans.get(callId) : undefined;
    if (!attempts) return send(req, dest, user);
    this.failoverPlans.delete(callId);
    return sendWithFailover({
      req, user, attempts, send, newVia: (d) => this.newVia(d.protocol), contactFor: (d) => `<${this.contactUri(this.contactUserOf(req), d.protocol)}>`,
      onTransportError: (d, cb) => {
        const l = (from: RemoteInfo, message: string): void => {
          if (from.address === d.address && from.port === d.port) cb(message);
        };
        this.on('transport-error', l);
        return () => this.off('transport-error', l);
      },
      report: (trunk, outcome) => this.router?.report(trunk, outcome),
    });
  }

  async start(): Promise<void> {
    if (this.layer) return;
    if (!this.transport) {
      // Our own socket faces the network: the SIP edge (edge/) filters requests before the transaction layer.
      const opened = await openConfiguredTransport(this.opts.config, this.clock, this.log);
      this.transport = this.opts.config.edge.enabled ? edgeTransport(opened, this.opts.config, this.clock, this.log) : opened;
      // Per-trunk transports (docs/sip.md): a trunk URI naming another transport (sips:, ;transport=)
      // gets that transport opened beside the primary one.
      for (const protocol of trunkProtocols(this.opts.config, this.transport.protocol)) {
        const port = this.opts.config.bindPort === 0 ? 0 : protocol === 'TLS' && this.transport.protocol === 'TCP' ? this.opts.config.bindPort + 1 : this.opts.config.bindPort;
        const extra = await openTransport(this.opts.config, protocol, port, this.clock, this.log);
        this.extraTransports.push(this.opts.config.edge.enabled ? edgeTransport(extra, this.opts.config, this.clock, this.log) : extra);
      }
    }
    for (const t of [this.transport, ...this.extraTransports]) {
      t.on('error', (err) => {
        this.emit('warning', `SIP transport error: ${err.message}`);
        if (err instanceof SipTransportError) this.emit('transport-error', err.destination, err.message);
      });
    }
    this.layer = new TransactionLayer(this.transport, this.clock, this.log, this.timers, this.opts.config.userAgent);
    for (const t of this.extraTransports) this.layer.addTransport(t);
    this.layer.core = {
      onRequest: (req, tx, from) => this.onRequest(req, tx, from),
      onAck: (ack) => this.callFor(ack)?.ackReceived(ack),
      onStrayResponse: (res) => this.onStrayResponse(res),
    };
    this.log.info('SIP user agent listening', { address: this.localAddress.address, port: this.localAddress.port });
  }

  /** BYE or CANCEL every live call (waiting at most stopTimeoutMs for answers), then close the socket. */
  async stop(): Promise<void> {
    const calls = [...this.outgoing.values(), ...this.incoming.values()];
    if (calls.length > 0) {
      let timer: { cancel(): void } | undefined;
      const limit = new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, this.opts.stopTimeoutMs ?? 2000)));
      await Promise.race([Promise.all(calls.map((c) => c.shutdown())), limit]);
      timer?.cancel();
      for (const c of calls) c.abandon();
    }
    this.layer?.shutdown();
    this.layer = undefined;
    if (this.ownsTransport) {
      await this.transport?.close();
      for (const t of this.extraTransports) await t.close();
      this.extraTransports.length = 0;
    }
  }

  /** The address and port we listen on and advertise (Via, Contact). */
  get localAddress(): { address: string; port: number } {
    return this.localAddressFor(undefined);
  }

  /** The transports this agent runs (the primary first): per-trunk transports add to it. */
  get protocols(): SipTransportProtocol[] {
    return [this.transport?.protocol ?? 'UDP', ...this.extraTransports.map((t) => t.protocol)];
  }

  /** Where we listen for `protocol` (the primary transport when absent or not run). */
  localAddressFor(protocol: SipTransportProtocol | undefined): { address: string; port: number } {
    const t = protocol === undefined ? this.transport : (this.extraTransports.find((x) => x.protocol === protocol) ?? this.transport);
    const bound = t?.localAddress ?? { address: this.opts.config.bindAddress, port: this.opts.config.bindPort };
    const advertised = this.opts.config.advertisedAddress;
    return { address: advertised !== '' ? advertised : bound.address, port: bound.port };
  }

  get counters(): { received: number; sent: number; parseErrors: number; strayResponses: number; liveCalls: number } {
    const c = this.layer?.counters ?? { received: 0, sent: 0, parseErrors: 0, strayResponses: 0 };
    return { ...c, liveCalls: this.outgoing.size + this.incoming.size };
  }

  invite(req: InviteRequest): OutgoingCall {
    if (!this.layer) throw new TonewallError('ESIPSTATE', 'SipUserAgent.invite() called before start()');
    if (this.draining) throw new TonewallError('ESIPDRAINING', `SIP user agent is draining: no new call to "${req.requestUri}"`);
    const plan = this.router?.plan(req.requestUri) ?? [];
    if (plan[0]) req = { ...req, requestUri: plan[0].uri };
    parseSipUri(req.requestUri);
    const wanted = explicitTransportForUri(req.requestUri);
    const have = this.transport?.protocol ?? 'UDP';
    if (wanted !== undefined && !this.protocols.includes(wanted)) {
      throw new TonewallError('ESIPTRANSPORT', `Request-URI "${req.requestUri}" asks for ${wanted} but this user agent runs ${this.protocols.join(', ')} (sip.transport ${have} and the transports sip.trunks name)`);
    }
    if (!/^[A-Za-z0-9\-_.!~*'()+%]+$/.test(req.fromUser)) {
      throw new TonewallError('ESIPURI', `From user "${req.fromUser}" has characters outside the SIP user grammar`);
    }
    const local = this.localAddress;
    const host = formatHostPort(local.address, undefined);
    const invite = newRequest('INVITE', req.requestUri);
    addHeader(invite, 'Max-Forwards', '70');
    const fromUri = `sip:${req.fromUser}@${host}`;
    addHeader(invite, 'From', formatNameAddr({ displayName: req.fromDisplayName, uri: fromUri, params: new Map([['tag', newTag()]]) }));
    addHeader(invite, 'To', formatNameAddr({ displayName: undefined, uri: req.requestUri, params: new Map() }));
    addHeader(invite, 'Call-ID', newCallId(host));
    addHeader(invite, 'CSeq', '1 INVITE');
    addHeader(invite, 'Contact', `<${this.contactUri(req.fromUser, wanted)}>`);
    addHeader(invite, 'User-Agent', this.opts.config.userAgent);
    addHeader(invite, 'Allow', ALLOWED_METHODS);
    addHeader(invite, 'Supported', '');
    for (const [name, value] of Object.entries(req.headers ?? {})) addHeader(invite, name, value);
    addHeader(invite, 'Content-Type', 'application/sdp');
    invite.body = Buffer.from(req.sdpOffer, 'utf8');
    const call = new OutgoingCall(this.context(), invite, this.opts.config.inviteTimeoutMs);
    if (plan.length > 1) this.failoverPlans.set(call.sipCallId, plan);
    this.outgoing.set(call.sipCallId, call);
    call.start();
    return call;
  }

  /** §8.1.1.8 Contact: sips: over TLS, `;transport=tcp` over TCP (§19.1.4), plain over UDP. */
  contactUri(user: string, over?: SipTransportProtocol): string {
    const l = this.localAddressFor(over);
    const protocol = over !== undefined && this.protocols.includes(over) ? over : (this.transport?.protocol ?? 'UDP');
    const hostPort = formatHostPort(l.address, l.port);
    if (protocol === 'TLS') return `sips:${user}@${hostPort}`;
    return protocol === 'TCP' ? `sip:${user}@${hostPort};transport=tcp` : `sip:${user}@${hostPort}`;
  }

  private newVia(over?: SipTransportProtocol): string {
    const l = this.localAddressFor(over);
    const protocol = over !== undefined && this.protocols.includes(over) ? over : (this.transport?.protocol ?? 'UDP');
    return `SIP/2.0/${protocol} ${formatHostPort(l.address, l.port)};branch=${newBranch()};rport`;
  }

  /** The user part of a request's Contact (to rebuild it for another transport). */
  private contactUserOf(req: SipRequest): string {
    try {
      return parseSipUri(parseNameAddr(header(req, 'contact') ?? '').uri).user ?? 'tonewall';
    } catch {
      return 'tonewall';
    }
  }

  private context(): UaContext {
    const layer = this.layer;
    if (!layer) throw new TonewallError('ESIPSTATE', 'SIP user agent is not started');
    return {
      layer,
      clock: this.clock,
      log: this.log,
      timers: this.timers,
      userAgent: this.opts.config.userAgent,
      ...(this.opts.sessionTimer ? { sessionTimer: this.opts.sessionTimer } : {}),
      contactUri: (user) => this.contactUri(user),
      sendRequest: (req: SipRequest, dest: Destination, user: ClientTransactionUser) => {
        req.headers.unshift({ name: 'via', value: this.newVia(dest.protocol) });
        return this.sendOut(layer, req, dest, user);
      },
      sendAck: (ack, dest) => {
        if (header(ack, 'via') === undefined) ack.headers.unshift({ name: 'via', value: this.newVia(dest.protocol) });
        layer.send(ack, dest);
      },
      release: (callId, kind) => {
        if (kind === 'outgoing') this.outgoing.delete(callId);
        else {
          const call = this.incoming.get(callId);
          this.incoming.delete(callId);
          for (const [tx, c] of this.incomingByTx) if (c === call) this.incomingByTx.delete(tx);
        }
      },
    };
  }

  private respond(tx: ServerTransaction, req: SipRequest, status: number, extra: Record<string, string> = {}): void {
    const res = buildResponse(req, status, undefined, { toTag: newTag() });
    addHeader(res, 'User-Agent', this.opts.config.userAgent);
    for (const [k, v] of Object.entries(extra)) addHeader(res, k, v);
    tx.respond(res);
  }

  private onRequest(req: SipRequest, tx: ServerTransaction, _from: RemoteInfo): void {
    if (req.method !== 'ACK' && req.method !== 'CANCEL') {
      // §8.2.2.1: a Request-URI scheme we do not understand → 416 (RFC 4475 §3.3.2, §3.3.3).
      const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(req.uri)?.[1]?.toLowerCase();
      if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') {
        this.respond(tx, req, 416);
        return;
      }
      // §8.2.2.3: Require naming an extension we lack → 420 listing it in Unsupported (RFC 4475 §3.3.5).
      // INVITEs are checked by IncomingCall.precheck (same rule, same options).
      const unsupported = headerValues(req, 'require').map((o) => o.trim()).filter((o) => o !== '' && !UA_OPTIONS.includes(o.toLowerCase()));
      if (unsupported.length > 0 && req.method !== 'INVITE') {
        this.respond(tx, req, 420, { Unsupported: unsupported.join(', ') });
        return;
      }
    }
    const toTag = parseNameAddr(header(req, 'to') ?? '').params.get('tag');
    switch (req.method) {
      case 'INVITE':
        if (toTag !== undefined) this.inDialog(req, tx);
        else if (tx instanceof InviteServerTransaction) this.onInvite(req, tx);
        return;
      case 'CANCEL': {
        const ist = this.layer?.findInviteServerTransaction(req);
        const call = ist ? this.incomingByTx.get(ist) : undefined;
        this.respond(tx, req, call ? 200 : 481);
        call?.cancelled(req);
        return;
      }
      case 'BYE': {
        const call = this.callFor(req);
        this.respond(tx, req, call ? 200 : 481);
        call?.remoteBye(req);
        return;
      }
      case 'INFO':
      case 'UPDATE':
      case 'PRACK':
        this.inDialog(req, tx);
        return;
      case 'OPTIONS':
        // §11.2: the status an INVITE would get now, so a draining appliance answers its peer's probe 503.
        if (this.drainRetryAfterS !== undefined) this.respond(tx, req, 503, { 'Retry-After': String(this.drainRetryAfterS) });
        else this.respond(tx, req, 200, { Allow: ALLOWED_METHODS, Accept: 'application/sdp', Supported: '' });
        return;
      default:
        // §8.2.1: a method we know but do not serve → 405 with Allow; one we do not know → 501
        // (§21.5.2; RFC 4475 §3.1.1.5: RE%47IST%45R is not REGISTER).
        if (KNOWN_METHODS.includes(req.method)) this.respond(tx, req, 405, { Allow: ALLOWED_METHODS });
        else this.respond(tx, req, 501, { Allow: ALLOWED_METHODS });
    }
  }

  /** The call whose dialog (confirmed or early) a request belongs to. */
  private callFor(req: SipRequest): IncomingCall | OutgoingCall | undefined {
    return [...this.outgoing.values(), ...this.incoming.values()].find((c) => c.matches(req));
  }

  /** INFO, UPDATE, PRACK, re-INVITE: to the call's dialog, else 481 (§12.2.2, RFC 6086 §4.2.2). */
  private inDialog(req: SipRequest, tx: ServerTransaction): void {
    if (this.callFor(req)?.dialogRequest(req, tx)) return;
    this.respond(tx, req, 481);
  }

  private onInvite(req: SipRequest, tx: InviteServerTransaction): void {
    if (this.drainRetryAfterS !== undefined) {
      this.respond(tx, req, 503, { 'Retry-After': String(this.drainRetryAfterS) });
      return;
    }
    const call = new IncomingCall(this.context(), req, tx);
    if (!call.precheck()) return;
    if (this.listenerCount('incoming-call') === 0) {
      call.reject(480, 'No Handler');
      return;
    }
    this.incoming.set(call.sipCallId, call);
    this.incomingByTx.set(tx, call);
    this.emit('incoming-call', call);
  }

  private onStrayResponse(res: SipResponse): void {
    const id = header(res, 'call-id') ?? '';
    (this.outgoing.get(id) ?? this.incoming.get(id))?.strayResponse(res);
  }
}

export type { IncomingCall, OutgoingCall };
