import assert from 'node:assert/strict';
import { compactDecrypt } from 'jose';
import { systemClock } from '../../../hw/base/clock';
import { createLogger, memorySink } from '../../../hw/base/logger';
import { CapturedDigits } from '../../../controller/secure/captured-digits';
import { JweHttpsConnector } from '../../../controller/secure/processor-connector';
import { destroyAll, parsePlaintext } from '../../../controller/secure/payment-plaintext';
import type { JweAlgorithm } from '../../../controller/secure/jwe-seal';
import type { PaymentOrder, PaymentSecrets } from '../../../controller/secure/processor-types';
import { generateJweKeyPair, TestProcessor } from '../../../controller/secure/test-processor';
import { makeTestPki, removePki, requireOpenssl, type TestPki } from '../../lib/secure-certs';
import { closedPort, FakeProcessor } from '../../lib/secure-fake-processor';
import { assertNoCardData, futureExpiry, TEST_CARDS } from '../../lib/secure-cards';
import { digitsEqual } from '../../lib/secure-fakes';

function captured(text: string, capacity: number): CapturedDigits {
  const d = new CapturedDigits(capacity);
  for (const ch of text) d.append(ch.charCodeAt(0) - 48);
  return d;
}

function secrets(pan: string, expiry: string, cvv: string): PaymentSecrets {
  return { cardNumber: captured(pan, 19), expiry: captured(expiry, 4), securityCode: captured(cvv, 4) };
}

let seq = 0;
function order(amountMinor = 1999): PaymentOrder {
  seq++;
  return { sessionId: `sess-${seq}`, idempotencyKey: `idem-${seq}`, amountMinor, currency: 'USD', reference: 'order-7' };
}

describe('secure: processor connector (JWE + mutual TLS) against the test processor', function () {
  let pki: TestPki | undefined;
  const sink = memorySink();
  const logger = createLogger({ level: 'trace', sinks: [sink] });
  const expiry = futureExpiry(Date.now());

  before(function () {
    requireOpenssl(this);
    pki = makeTestPki();
  });
  after(() => removePki(pki));
  afterEach(() => assertNoCardData(sink.lines, { pan: TEST_CARDS.visa, expiry, cvv: '837' }));

  function need(): TestPki {
    if (!pki) throw new Error('no PKI');
    return pki;
  }

  function connector(port: number, publicKeyPem: string, alg: JweAlgorithm, over: Partial<{ ca: string; cert: string; key: string; pin: string; timeoutMs: number }> = {}) {
    const p = need();
    const tls = { ca: over.ca ?? p.ca, cert: over.cert ?? p.client.cert, key: over.key ?? p.client.key, ...(over.pin ? { serverCertSha256: over.pin } : {}) };
    return new JweHttpsConnector({ url: `https://127.0.0.1:${port}/payments`, alg, publicKeyPem, tls, timeoutMs: over.timeoutMs ?? 5000, clock: systemClock, logger });
  }

  for (const alg of ['RSA-OAEP-256', 'ECDH-ES'] as const) {
    it(`${alg}: seals, pays over mutual TLS and is approved with a reference; the test processor replays by idempotency key`, async () => {
      const p = need();
      const tp = new TestProcessor({ tls: { cert: p.server.cert, key: p.server.key, clientCa: p.ca }, alg, clock: systemClock, logger });
      const port = await tp.start();
      try {
        const c = connector(port, tp.publicKeyPem, alg);
        const s = secrets(TEST_CARDS.visa, expiry, '837');
        const sealed = await c.seal(s);
        destroyAll(s);
        assert.match(sealed.jwe, /^[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/);
        const o = order();
        const first = await c.send(sealed, o);
        assert.equal(first.outcome, 'approved');
        assert.match(first.reference ?? '', /^tp-[0-9a-f]{12}$/);
        const again = await c.send(sealed, o);
        assert.deepEqual(again, first);
        assert.equal(tp.counters.replays, 1);
        assert.equal(tp.counters.approved, 1);
      } finally {
        await tp.stop();
      }
    });
  }

  it('the JWE decrypts with the processor key to exactly the captured fields', async () => {
    const { privateKey, publicKeyPem } = generateJweKeyPair('RSA-OAEP-256');
    const c = connector(1, publicKeyPem, 'RSA-OAEP-256');
    const sealed = await c.seal(secrets(TEST_CARDS.amex, expiry, '1234'));
    const { plaintext, protectedHeader } = await compactDecrypt(sealed.jwe, privateKey);
    assert.equal(protectedHeader.alg, 'RSA-OAEP-256');
    assert.equal(protectedHeader.enc, 'A256GCM');
    const back = parsePlaintext(plaintext);
    plaintext.fill(0);
    assert.equal(digitsEqual(back.cardNumber, TEST_CARDS.amex), true);
    assert.equal(digitsEqual(back.expiry, expiry), true);
    assert.equal(digitsEqual(back.securityCode, '1234'), true);
    destroyAll(back);
  });

  it('the test processor declines security code 000, a Luhn-invalid number and amounts ending in 51', async () => {
    const p = need();
    const tp = new TestProcessor({ tls: { cert: p.server.cert, key: p.server.key, clientCa: p.ca }, alg: 'ECDH-ES', clock: systemClock, logger });
    const port = await tp.start();
    try {
      const c = connector(port, tp.publicKeyPem, 'ECDH-ES');
      const cases: [PaymentSecrets, number, string][] = [
        [secrets(TEST_CARDS.mastercard, expiry, '000'), 1999, 'cvv-mismatch'],
        [secrets('4111111111111112', expiry, '837'), 1999, 'invalid-card'],
        [secrets(TEST_CARDS.visa, '0120', '837'), 1999, 'expired-card'],
        [secrets(TEST_CARDS.visa, expiry, '837'), 1051, 'insufficient-funds'],
      ];
      for (const [s, amount, reason] of cases) {
        const r = await c.send(await c.seal(s), order(amount));
        destroyAll(s);
        assert.equal(r.outcome, 'declined');
        assert.equal(r.reason, reason);
      }
    } finally {
      await tp.stop();
    }
  });

  it('processor down → error unreachable, nothing retried', async () => {
    const { publicKeyPem } = generateJweKeyPair('ECDH-ES');
    const c = connector(await closedPort(), publicKeyPem, 'ECDH-ES');
    const r = await c.send({ jwe: 'x.y.z.w.v' }, order());
    assert.deepEqual(r, { outcome: 'error', reason: 'unreachable' });
  });

  it('processor slow → error timeout', async () => {
    const p = need();
    const fake = new FakeProcessor(p.server, p.ca, () => undefined);
    const port = await fake.start();
    try {
      const { publicKeyPem } = generateJweKeyPair('ECDH-ES');
      const r = await connector(port, publicKeyPem, 'ECDH-ES', { timeoutMs: 300 }).send({ jwe: 'a.b.c.d.e' }, order());
      assert.deepEqual(r, { outcome: 'error', reason: 'timeout' });
      assert.equal(fake.requests, 1);
    } finally {
      await fake.stop();
    }
  });

  it('server certificate from another CA → error tls, the request never sent', async () => {
    const p = need();
    const fake = new FakeProcessor(p.rogueServer, p.ca, (_q, res) => res.end('{"status":"approved","reference":"x"}'));
    const port = await fake.start();
    try {
      const { publicKeyPem } = generateJweKeyPair('ECDH-ES');
      const r = await connector(port, publicKeyPem, 'ECDH-ES').send({ jwe: 'a.b.c.d.e' }, order());
      assert.deepEqual(r, { outcome: 'error', reason: 'tls' });
      assert.equal(fake.requests, 0);
    } finally {
      await fake.stop();
    }
  });

  it('a pinned fingerprint that does not match → error tls', async () => {
    const p = need();
    const fake = new FakeProcessor(p.server, p.ca, (_q, res) => res.end('{"status":"approved","reference":"x"}'));
    const port = await fake.start();
    try {
      const { publicKeyPem } = generateJweKeyPair('ECDH-ES');
      const pin = Array.from({ length: 32 }, () => 'AB').join(':');
      const r = await connector(port, publicKeyPem, 'ECDH-ES', { pin }).send({ jwe: 'a.b.c.d.e' }, order());
      assert.deepEqual(r, { outcome: 'error', reason: 'tls' });
      assert.equal(fake.requests, 0);
    } finally {
      await fake.stop();
    }
  });

  it('client certificate the processor does not trust → error, the processor never sees a request', async () => {
    const p = need();
    const tp = new TestProcessor({ tls: { cert: p.server.cert, key: p.server.key, clientCa: p.ca }, alg: 'ECDH-ES', clock: systemClock, logger });
    const port = await tp.start();
    try {
      const c = connector(port, tp.publicKeyPem, 'ECDH-ES', { cert: p.rogueClient.cert, key: p.rogueClient.key });
      const s = secrets(TEST_CARDS.visa, expiry, '837');
      const r = await c.send(await c.seal(s), order());
      destroyAll(s);
      assert.equal(r.outcome, 'error');
      assert.ok(r.reason === 'tls' || r.reason === 'unreachable', String(r.reason));
      assert.equal(tp.counters.requests, 0);
    } finally {
      await tp.stop();
    }
  });

  const badAnswers: [string, (res: import('node:http').ServerResponse) => void, string][] = [
    ['garbage', (res) => res.end('not json'), 'bad-response'],
    ['wrong shape', (res) => res.end('{"ok":true}'), 'bad-response'],
    ['a card number as reference', (res) => res.end(JSON.stringify({ status: 'approved', reference: TEST_CARDS.visaAlt })), 'bad-response'],
    ['HTTP 500', (res) => res.writeHead(500).end('{}'), 'http-500'],
    ['oversized', (res) => res.end('{"status":"approved","reference":"' + 'a'.repeat(20_000) + '"}'), 'bad-response'],
  ];
  for (const [name, answer, reason] of badAnswers) {
    it(`bad response (${name}) → error ${reason}`, async () => {
      const p = need();
      const fake = new FakeProcessor(p.server, p.ca, (_q, res) => answer(res));
      const port = await fake.start();
      try {
        const { publicKeyPem } = generateJweKeyPair('RSA-OAEP-256');
        const r = await connector(port, publicKeyPem, 'RSA-OAEP-256').send({ jwe: 'a.b.c.d.e' }, order());
        assert.deepEqual(r, { outcome: 'error', reason });
      } finally {
        await fake.stop();
      }
    });
  }

  it('refuses a public key that does not suit the algorithm, and a non-https URL', () => {
    const ec = generateJweKeyPair('ECDH-ES').publicKeyPem;
    assert.throws(() => connector(1, ec, 'RSA-OAEP-256'), { code: 'ESECURE_KEY', message: /type ec does not suit RSA-OAEP-256/ });
    const p = need();
    assert.throws(
      () => new JweHttpsConnector({ url: 'http://127.0.0.1:1/p', alg: 'ECDH-ES', publicKeyPem: ec, tls: { ca: p.ca, cert: p.client.cert, key: p.client.key }, timeoutMs: 1000, clock: systemClock, logger }),
      { code: 'ESECURE_URL' },
    );
  });
});
