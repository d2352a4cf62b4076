/**
 * The local test processor (`tonewall test-processor`, the demo and the tests pay through it): an
 * HTTPS server on 127.0.0.1 that requires a client certificate signed by its CA (mutual TLS, TLS ≥
 * 1.2), decrypts the JWE with its own private key, judges the card and answers with a reference.
 *
 * Decision rules (docs/payments.md), applied in this order:
 *   card number missing or not Luhn-valid          → declined, reason invalid-card
 *   expiry missing, month not 01–12, or past        → declined, reason expired-card
 *   security code all zeros ("000", "0000")         → declined, reason cvv-mismatch
 *   amountMinor ends in 51 (e.g. 1051)               → declined, reason insufficient-funds
 *   otherwise                                        → approved
 * A repeated Idempotency-Key gets the first answer again (nothing of the card is kept for that).
 *
 * It follows the appliance's rules although it is test infrastructure: the decrypted bytes are read
 * into CapturedDigits and wiped, and nothing of the card is logged or stored.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { compactDecrypt } from 'jose';
import type { Clock } from '../../hw/base/clock';
import { errorCode } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { destroyAll, parsePlaintext } from './payment-plaintext';
import { JWE_ENCRYPTION, type JweAlgorithm } from './jwe-seal';
import type { PaymentSecrets } from './processor-types';

export interface TestProcessorOptions {
  tls: { cert: string | Buffer; key: string | Buffer; clientCa: string | Buffer };
  alg: JweAlgorithm;
  /** The JWE private key; default: a fresh key pair made at construction. */
  privateKey?: KeyObject;
  clock: Clock;
  logger: Logger;
  port?: number;
  rememberKeys?: number;
}

export interface TestProcessorCounters {
  requests: number;
  approved: number;
  declined: number;
  rejected: number;
  replays: number;
}

interface Answer {
  status: number;
  body: string;
}

const MAX_BODY_BYTES = 64 * 1024;

/** A fresh JWE key pair for `alg` (RSA 2048 or EC P-256); the public half as SPKI PEM. */
export function generateJweKeyPair(alg: JweAlgorithm): { privateKey: KeyObject; publicKeyPem: string } {
  const pair = alg === 'RSA-OAEP-256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey: pair.privateKey, publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export class TestProcessor {
  readonly publicKeyPem: string;
  readonly counters: TestProcessorCounters = { requests: 0, approved: 0, declined: 0, rejected: 0, replays: 0 };
  private readonly privateKey: KeyObject;
  private readonly server: Server;
  private readonly answers = new Map<string, Answer>();
  private readonly log: Logger;

  constructor(private readonly o: TestProcessorOptions) {
    this.log = o.logger.child('test-processor');
    if (o.privateKey) {
      this.privateKey = o.privateKey;
      this.publicKeyPem = createPublicKey(o.privateKey).export({ type: 'spki', format: 'pem' }).toString();
    } else {
      const pair = generateJweKeyPair(o.alg);
      this.privateKey = pair.privateKey;
      this.publicKeyPem = pair.publicKeyPem;
    }
    this.server = createServer(
      { cert: o.tls.cert, key: o.tls.key, ca: o.tls.clientCa, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
      (req, res) => void this.handle(req, res),
    );
  }

  /** Listens on 127.0.0.1 (port 0: ephemeral); resolves with the port. */
  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.o.port ?? 0, '127.0.0.1', () => {
        this.server.off('error', reject);
        const port = (this.server.address() as AddressInfo).port;
        this.log.info('test processor listening', { port, alg: this.o.alg });
        resolve(port);
      });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests++;
    const answer = await this.answer(req).catch((err: unknown): Answer => {
      this.log.warn('request failed', { code: errorCode(err) });
      return { status: 500, body: JSON.stringify({ status: 'error', reason: 'internal' }) };
    });
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  }

  private async answer(req: IncomingMessage): Promise<Answer> {
    if (req.method !== 'POST' || req.url !== '/payments') return this.reject(404, 'not-found');
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !/^[A-Za-z0-9._:-]{1,64}$/.test(key)) return this.reject(400, 'idempotency-key');
    const body = await readBody(req);
    if (!body) return this.reject(413, 'too-large');
    const known = this.answers.get(key);
    if (known) {
      this.counters.replays++;
      return known;
    }
    const parsed = parseOrder(body);
    if (!parsed) return this.reject(400, 'bad-request');
    let secrets: PaymentSecrets | undefined;
    let plaintext: Uint8Array | undefined;
    try {
      const dec = await compactDecrypt(parsed.jwe, this.privateKey, { keyManagementAlgorithms: [this.o.alg], contentEncryptionAlgorithms: [JWE_ENCRYPTION] });
      plaintext = dec.plaintext;
      secrets = parsePlaintext(plaintext);
    } catch (err) {
      this.log.warn('payload not decryptable', { code: errorCode(err) });
      return this.reject(400, 'undecryptable');
    } finally {
      plaintext?.fill(0);
    }
    const reason = this.decide(secrets, parsed.amountMinor);
    destroyAll(secrets);
    const reference = `tp-${randomBytes(6).toString('hex')}`;
    const answer: Answer = { status: 200, body: JSON.stringify(reason ? { status: 'declined', reason, reference } : { status: 'approved', reference }) };
    if (reason) this.counters.declined++;
    else this.counters.approved++;
    this.remember(key, answer);
    this.log.info('payment judged', { outcome: reason ? 'declined' : 'approved', reason, reference });
    return answer;
  }

  private decide(s: PaymentSecrets, amountMinor: number): string | undefined {
    if (!s.cardNumber || s.cardNumber.length < 12 || !s.cardNumber.luhnValid()) return 'invalid-card';
    const month = s.expiry?.numberAt(0, 2);
    const year = s.expiry?.numberAt(2, 2);
    if (month === undefined || year === undefined || s.expiry?.length !== 4 || month < 1 || month > 12) return 'expired-card';
    const now = new Date(this.o.clock.now());
    if ((2000 + year) * 12 + month < now.getUTCFullYear() * 12 + now.getUTCMonth() + 1) return 'expired-card';
    if (s.securityCode?.allZero()) return 'cvv-mismatch';
    if (amountMinor % 100 === 51) return 'insufficient-funds';
    return undefined;
  }

  private reject(status: number, reason: string): Answer {
    this.counters.rejected++;
    return { status, body: JSON.stringify({ status: 'error', reason }) };
  }

  private remember(key: string, answer: Answer): void {
    this.answers.set(key, answer);
    const limit = this.o.rememberKeys ?? 10_000;
    while (this.answers.size > limit) {
      const oldest = this.answers.keys().next();
      if (oldest.done) break;
      this.answers.delete(oldest.value);
    }
  }
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The order body holds no card data (only the JWE); parse it normally. */
function parseOrder(body: Buffer): { jwe: string; amountMinor: number } | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (typeof o.jwe !== 'string' || typeof o.amountMinor !== 'number' || !Number.isInteger(o.amountMinor)) return undefined;
    return { jwe: o.jwe, amountMinor: o.amountMinor };
  } catch {
    return undefined;
  }
}
