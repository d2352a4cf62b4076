/**
 * Sends a request in a client transaction and answers digest challenges transparently (RFC 3261
 * §22.2): the transaction user sees the final outcome of the last attempt, never the 401/407 that
 * was answered. The request object is rewritten in place (new top Via branch, CSeq + 1, credentials)
 * so whoever holds it (an outgoing call building its CANCEL or ACK from it, §9.1, §13.2.2.4) follows
 * the transaction that is live.
 */
import type { SipRequest } from '../core/messages/message';
import type { ClientTransaction } from '../core/transaction-layer';
import type { ClientTransactionUser, Destination } from '../core/transactions/transaction';
import type { DigestAuthenticator } from './authenticator';

export interface AuthRetryOptions {
  req: SipRequest;
  dest: Destination;
  user: ClientTransactionUser;
  authenticator: DigestAuthenticator | undefined;
  /** Sends `req` (its top Via already set) in a new client transaction. */
  send(req: SipRequest, user: ClientTransactionUser): ClientTransaction;
  /** A new top Via value with a fresh branch (§8.1.1.7). */
  newVia(): string;
}

export function sendWithDigestRetry(o: AuthRetryOptions): ClientTransaction {
  const auth = o.authenticator;
  if (!auth) return o.send(o.req, o.user);
  const attempt = auth.newAttempt();
  const wrapped: ClientTransactionUser = {
    onResponse: (res) => {
      if ((res.status === 401 || res.status === 407) && auth.answer(o.req, res, o.dest, attempt)) {
        const top = o.req.headers.findIndex((h) => h.name === 'via');
        const via = { name: 'via', value: o.newVia() };
        if (top >= 0) o.req.headers[top] = via;
        else o.req.headers.unshift(via);
        o.send(o.req, wrapped);
        return;
      }
      o.user.onResponse(res);
    },
    onTimeout: () => o.user.onTimeout(),
  };
  return o.send(o.req, wrapped);
}
