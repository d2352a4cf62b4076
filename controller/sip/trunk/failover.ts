/**
 * Ordered failover of a new outgoing INVITE across trunks, RFC 3263 §4.3 semantics: the next trunk
 * is tried when the current one gives no answer at all (Timer B, §17.1.1.2), a transport error
 * (connection refused, TLS verification), or 503 Service Unavailable (§21.5.4: the server is
 * overloaded or in maintenance). Every other final response is the far end's answer about the call
 * (486 Busy Here, 404, 603 Decline, 480, …) and goes to the caller as it is; a 2xx ends the search.
 *
 * The request object is rewritten in place for the next attempt (Request-URI and To URI of the
 * next trunk, a new top Via branch, CSeq + 1) so the outgoing call holding it builds its CANCEL and
 * ACK from the attempt that is live. The transaction of a failed attempt is terminated; its late
 * callbacks are ignored. The caller (the call) sees one outcome.
 */
import { parseNameAddr, formatNameAddr } from '../core/messages/name-addr';
import { cseq, header, setHeader, type SipRequest, type SipResponse } from '../core/messages/message';
import type { ClientTransaction } from '../core/transaction-layer';
import type { ClientTransactionUser, Destination } from '../core/transactions/transaction';
import { uriDestination } from '../core/dialogs/dialog';

/** One candidate: the trunk's name and the Request-URI for this call on it. */
export interface TrunkAttempt {
  trunk: string;
  uri: string;
}

/** True for the final outcomes after which the next trunk is tried (see the header comment). */
export function isFailoverStatus(status: number): boolean {
  return status === 503 || status === 408;
}

export interface FailoverOptions {
  req: SipRequest;
  user: ClientTransactionUser;
  /** The attempt the request was built for, then the alternatives in order. */
  attempts: readonly TrunkAttempt[];
  /** Sends the request (top Via in place) to `dest` in a new client transaction. */
  send(req: SipRequest, dest: Destination, user: ClientTransactionUser): ClientTransaction;
  /** A new top Via for the transport `dest` asks for. */
  newVia(dest: Destination): string;
  /** Our Contact for that transport (a trunk on another transport gets its own), if it differs. */
  contactFor?(dest: Destination): string;
  /** Subscribes to transport errors toward a destination; returns the unsubscribe function. */
  onTransportError(dest: Destination, cb: (message: string) => void): () => void;
  /** Outcome of each attempt, for the trunk's state. */
  report(trunk: string, outcome: { ok: boolean; status: number; reason: string }): void;
}

export function sendWithFailover(o: FailoverOptions): ClientTransaction {
  let index = 0;
  let attemptId = 0;
  let gotProvisional = false;
  let current: ClientTransaction | undefined;
  let unsubscribe: (() => void) | undefined;

  const attempt = (): ClientTransaction => {
    const id = ++attemptId;
    const a = o.attempts[index];
    const dest = uriDestination(o.req.uri);
    unsubscribe?.();
    unsubscribe = o.onTransportError(dest, (message) => {
      if (id !== attemptId || gotProvisional) return;
      current?.terminate();
      next(503, `transport error: ${message}`, undefined);
    });
    const user: ClientTransactionUser = {
      onResponse: (res: SipResponse) => {
        if (id !== attemptId) return;
        if (res.status < 200) {
          // 100 Trying only says the hop got the request; 18x says the call reached a callee,
          // after which a failure is that call's outcome and not a reason to ring another trunk.
          if (res.status > 100) gotProvisional = true;
          o.user.onResponse(res);
          return;
        }
        if (isFailoverStatus(res.status) && !gotProvisional) {
          next(res.status, res.reason, res);
          return;
        }
        unsubscribe?.();
        if (a) o.report(a.trunk, { ok: res.status !== 503, status: res.status, reason: res.reason });
        o.user.onResponse(res);
      },
      onTimeout: () => {
        if (id !== attemptId) return;
        if (!gotProvisional) next(408, 'no response (Timer B)', undefined);
        else {
          unsubscribe?.();
          o.user.onTimeout();
        }
      },
    };
    current = o.send(o.req, dest, user);
    return current;
  };

  const next = (status: number, reason: string, res: SipResponse | undefined): void => {
    const failed = o.attempts[index];
    if (failed) o.report(failed.trunk, { ok: false, status, reason });
    index++;
    const a = o.attempts[index];
    if (!a) {
      unsubscribe?.();
      attemptId++;
      if (res) o.user.onResponse(res);
      else if (status === 408) o.user.onTimeout();
      else o.user.onResponse(synthetic503(o.req, reason));
      return;
    }
    const next = uriDestination(a.uri);
    retarget(o.req, a.uri, o.newVia(next));
    const contact = o.contactFor?.(next);
    if (contact !== undefined && header(o.req, 'contact') !== undefined) setHeader(o.req, 'Contact', contact);
    attempt();
  };

  return attempt();
}

/** Points the request at the next trunk: Request-URI, To URI, a new branch, CSeq + 1. */
function retarget(req: SipRequest, uri: string, via: string): void {
  req.uri = uri;
  const to = parseNameAddr(header(req, 'to') ?? `<${uri}>`);
  setHeader(req, 'To', formatNameAddr({ ...to, uri }));
  setHeader(req, 'CSeq', `${cseq(req).seq + 1} ${req.method}`);
  const top = req.headers.findIndex((h) => h.name === 'via');
  if (top >= 0) req.headers[top] = { name: 'via', value: via };
  else req.headers.unshift({ name: 'via', value: via });
}

/** A local 503 for the caller when the last trunk failed by transport error (RFC 3263 §4.3). */
function synthetic503(req: SipRequest, reason: string): SipResponse {
  return {
    kind: 'response', status: 503, reason: reason.slice(0, 120),
    headers: req.headers.filter((h) => ['via', 'from', 'to', 'call-id', 'cseq'].includes(h.name)).map((h) => ({ ...h })),
    body: Buffer.alloc(0),
  };
}
