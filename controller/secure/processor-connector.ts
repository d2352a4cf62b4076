/**
 * The generic processor connector (issue 6): the card data sealed as a JWE to the processor's public
 * key (jwe-seal.ts), POSTed as JSON `{ jwe, sessionId, amountMinor, currency, reference }` over HTTPS
 * with mutual TLS (client certificate and key; only the configured CA is trusted; TLS ≥ 1.2;
 * certificate checks always on, optionally pinned to the server certificate's SHA-256 fingerprint)
 * and an `Idempotency-Key` header.
 *
 * Contract (DESIGN.md §2 step 5–7, §7): `send` never rejects and never retries, queues or writes
 * anything: processor down, slow (`timeoutMs`, armed on the injected clock), bad certificate or bad
 * response → `{ outcome: 'error', reason }` with reason `unreachable`, `timeout`, `tls`,
 * `bad-response` or `http-NNN`. Logs carry the session id, outcome and reason only.
 */
import { request as httpsRequest } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../hw/base/clock';
import { errorCode, TonewallError } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { processorPublicKey, sealPayment, type JweAlgorithm } from './jwe-seal';
import { MAX_RESPONSE_BYTES, parseProcessorResponse } from './processor-response';
import type { PaymentOrder, PaymentSecrets, ProcessorConnector, ProcessorResult, SealedPayment } from './processor-types';

export interface ProcessorTls {
  /** PEM of the CA that signs the processor's server certificate: the only one trusted. */
  ca: string | Buffer;
  /** Client certificate chain and key (PEM) for mutual TLS. */
  cert: string | Buffer;
  key: string | Buffer;
  /** Optional pin: the server certificate's SHA-256 fingerprint, "AB:CD:…" as Node prints it. */
  serverCertSha256?: string;
}

export interface JweHttpsConnectorOptions {
  /** https:// URL of the processor's payment endpoint. */
  url: string;
  alg: JweAlgorithm;
  /** The processor's public key, SPKI PEM. */
  publicKeyPem: string;
  keyId?: string;
  tls: ProcessorTls;
  /** Whole request budget, connect to last response byte (ms). */
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
}

const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|EPROTO$|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_CERT_|ESECURE_PIN$|HOSTNAME_MISMATCH)/;

export class JweHttpsConnector implements ProcessorConnector {
  private readonly key: KeyObject;
  private readonly url: URL;
  private readonly log: Logger;

  constructor(private readonly o: JweHttpsConnectorOptions) {
    this.url = new URL(o.url);
    if (this.url.protocol !== 'https:') throw new TonewallError('ESECURE_URL', `processor URL scheme ${this.url.protocol} is not https:`);
    if (!(o.timeoutMs > 0)) throw new TonewallError('ESECURE_TIMEOUT', `processor timeout ${o.timeoutMs} ms is not positive`);
    this.key = processorPublicKey(o.publicKeyPem, o.alg);
    this.log = o.logger.child('processor');
  }

  seal(secrets: PaymentSecrets): Promise<SealedPayment> {
    return sealPayment(secrets, this.key, this.o.alg, this.o.keyId);
  }

  async send(sealed: SealedPayment, order: PaymentOrder): Promise<ProcessorResult> {
    const body = Buffer.from(
      JSON.stringify({ jwe: sealed.jwe, sessionId: order.sessionId, amountMinor: order.amountMinor, currency: order.currency, reference: order.reference }),
      'utf8',
    );
    let result: ProcessorResult;
    try {
      const res = await this.post(body, order.idempotencyKey);
      result = parseProcessorResponse(res.status, res.body);
    } catch (err) {
      const code = errorCode(err);
      const reason = code === 'ESECURE_PROCESSOR_TIMEOUT' ? 'timeout' : TLS_ERROR.test(code) ? 'tls' : code === 'ESECURE_RESPONSE_SIZE' ? 'bad-response' : 'unreachable';
      this.log.warn('processor request failed', { sessionId: order.sessionId, reason, code });
      return { outcome: 'error', reason };
    }
    this.log.info('processor answered', { sessionId: order.sessionId, outcome: result.outcome, reason: result.reason });
    return result;
  }

  private post(body: Buffer, idempotencyKey: string): Promise<{ status: number; body: Buffer }> {
    const t = this.o.tls;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, value?: { status: number; body: Buffer }) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        if (err) reject(err);
        else if (value) resolve(value);
      };
      const req = httpsRequest(this.url, {
        method: 'POST',
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        minVersion: 'TLSv1.2',
        rejectUnauthorized: true,
        agent: false,
        checkServerIdentity: (host: string, cert: PeerCertificate) => {
          const err = checkServerIdentity(host, cert);
          if (err) return err;
          if (t.serverCertSha256 !== undefined && cert.fingerprint256 !== t.serverCertSha256.toUpperCase()) {
            return new TonewallError('ESECURE_PIN', `server certificate fingerprint ${cert.fingerprint256} is not the pinned one`);
          }
          return undefined;
        },
        headers: { 'content-type': 'application/json', 'content-length': String(body.length), 'idempotency-key': idempotencyKey },
      });
      const timer = this.o.clock.setTimeout(() => {
        const err = new TonewallError('ESECURE_PROCESSOR_TIMEOUT', `processor did not answer within ${this.o.timeoutMs} ms`);
        req.destroy(err);
        finish(err);
      }, this.o.timeoutMs);
      req.on('error', (err) => finish(err));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            const err = new TonewallError('ESECURE_RESPONSE_SIZE', `processor response exceeds ${MAX_RESPONSE_BYTES} bytes`);
            req.destroy(err);
            finish(err);
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err) => finish(err));
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      });
      req.end(body);
    });
  }
}
