import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { systemClock } from '../../../hw/base/clock';
import { createLogger, memorySink, nullLogger } from '../../../hw/base/logger';
import { TestProcessor } from '../../../controller/secure/test-processor';
import { UplinkDsp } from '../../../controller/dsp/uplink-dsp';
import { detectDigits } from '../../../controller/dsp/dtmf-detector';
import { PaymentManager } from '../../../controller/secure/payment-manager';
import { JweHttpsConnector } from '../../../controller/secure/processor-connector';
import { DEFAULT_PAYMENT_POLICY, type PaymentRequest, type PaymentSnapshot } from '../../../controller/secure/payment-types';
import { makeTestPki, removePki, requireOpenssl, type TestPki } from '../../lib/secure-certs';
import { assertNoCardData, futureExpiry, TEST_CARDS } from '../../lib/secure-cards';
import { keyedAudio, keyedAudioCodes, pushThrough } from '../../lib/secure-caller';
import { canaryNeedles, heapSnapshotHits, makeCanary } from '../../lib/secure-canary';

const CLI_MODULE = resolve(__dirname, '../../../controller/app/commands/test-processor.js');

interface Running {
  child: ChildProcess;
  url: string;
  publicKeyPem: string;
  stderr: string[];
}

/** Starts `tonewall test-processor` as a separate process and waits for its listening line. */
function startProcessorProcess(pki: TestPki, alg: string): Promise<Running> {
  const files = { cert: join(pki.dir, 'server.crt'), key: join(pki.dir, 'server.key'), ca: join(pki.dir, 'ca.crt') };
  const script = `require(${JSON.stringify(CLI_MODULE)}).run(process.argv.slice(1)).then((c) => process.exit(c))`;
  const child = spawn(process.execPath, ['-e', script, '--', '--cert', files.cert, '--key', files.key, '--client-ca', files.ca, '--alg', alg, '--log-level', 'debug'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (c: Buffer) => stderr.push(c.toString()));
  return new Promise((ok, fail) => {
    let out = '';
    child.once('exit', (code) => fail(new Error(`test processor exited ${code}: ${stderr.join('')}`)));
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const info = JSON.parse(out.slice(0, nl)) as { url: string; publicKeyPem: string };
      child.removeAllListeners('exit');
      ok({ child, url: info.url, publicKeyPem: info.publicKeyPem, stderr });
    });
  });
}

function stopProcess(p: Running | undefined): Promise<number | null> {
  if (!p || p.child.exitCode !== null) return Promise.resolve(p?.child.exitCode ?? null);
  return new Promise((ok) => {
    p.child.once('exit', (code) => ok(code));
    p.child.kill('SIGTERM');
  });
}

describe('secure: payments through the real masking engine and the test processor process', function () {
  let pki: TestPki | undefined;
  let proc: Running | undefined;
  const expiry = futureExpiry(Date.now());
  const CVV = '837';

  before(async function () {
    requireOpenssl(this);
    pki = makeTestPki();
    proc = await startProcessorProcess(pki, 'ECDH-ES');
  });
  after(async () => {
    const code = await stopProcess(proc);
    if (proc) assert.equal(code, 0, 'the test processor stops cleanly on SIGTERM');
    removePki(pki);
  });

  /** A manager on a real UplinkDsp paying through `target` (default: the test processor process). */
  function rig(target?: { url: string; publicKeyPem: string }) {
    if (!pki || !proc) throw new Error('not set up');
    const to = target ?? proc;
    const sink = memorySink();
    const logger = createLogger({ level: 'trace', sinks: [sink] });
    const connector = new JweHttpsConnector({
      url: to.url,
      alg: 'ECDH-ES',
      publicKeyPem: to.publicKeyPem,
      tls: { ca: pki.ca, cert: pki.client.cert, key: pki.client.key },
      timeoutMs: 5000,
      clock: systemClock,
      logger,
    });
    const manager = new PaymentManager({ policy: { ...DEFAULT_PAYMENT_POLICY, faultHoldMs: 300 }, connector, clock: systemClock, logger });
    const dsp = new UplinkDsp({ onDigit: (e) => manager.key('call-1', e), onFault: () => manager.maskingFault('call-1') });
    const events: PaymentSnapshot[] = [];
    manager.on('progress', (s) => events.push(s));
    const ended = new Promise<PaymentSnapshot>((ok) => manager.once('ended', ok));
    const sent: Int16Array[] = [];
    const feedAudio = (audio: Int16Array) =>
      pushThrough(dsp, audio, (payload, linear) => {
        manager.observePayload('call-1', payload, 'ulaw');
        sent.push(linear);
      });
    const feed = (keys: string) => feedAudio(keyedAudio(keys));
    return { sink, manager, dsp, events, ended, sent, feed, feedAudio };
  }

  const request = (requestId: string): PaymentRequest => ({ requestId, callId: 'call-1', fields: ['card-number', 'expiry', 'security-code'], amountMinor: 2500, currency: 'EUR', reference: 'inv-77' });

  it('keys a card through UplinkDsp: approved, every tone masked, second check clean, nothing leaked', async () => {
    const r = rig();
    r.manager.start(request('req-1'), r.dsp);
    assert.equal(r.dsp.mode, 'secure');
    const keys = TEST_CARDS.visa + expiry + CVV;
    r.feed(keys);
    const end = await r.ended;
    assert.equal(end.state, 'approved', JSON.stringify(end.result));
    assert.match(end.result?.processorReference ?? '', /^tp-/);
    assert.equal(end.result?.last4, '1111');
    const masking = end.result?.masking;
    assert.equal(masking?.maskedTones, keys.length);
    assert.equal(masking?.clean, true);
    assert.equal(masking?.secondCheck.ran, true);
    assert.equal(masking?.secondCheck.digitsFound, 0);
    const all = new Int16Array(r.sent.reduce((n, s) => n + s.length, 0));
    let o = 0;
    for (const s of r.sent) {
      all.set(s, o);
      o += s.length;
    }
    assert.equal(detectDigits(all).length, 0, 'the product detector finds nothing in what left either');
    assert.notEqual(r.dsp.mode, 'secure');
    const texts = [...r.sink.lines, ...r.events.map((e) => JSON.stringify(e)), JSON.stringify(end), ...(proc?.stderr ?? [])];
    assertNoCardData(texts, { pan: TEST_CARDS.visa, expiry, cvv: CVV });
  });

  it('a masking failure mid-entry ends the session with an error; the uplink carries on', async () => {
    const r = rig();
    const released = new Promise<void>((ok) => r.manager.once('uplink-released', () => ok()));
    r.manager.start(request('req-2'), r.dsp);
    r.feed(TEST_CARDS.mastercard.slice(0, 6));
    r.dsp.signalOverrun();
    const end = await r.ended;
    assert.equal(end.state, 'error');
    assert.equal(end.result?.reason, 'masking-fault');
    assert.equal(end.result?.masking.faulted, true);
    assert.equal(r.dsp.mode, 'faulted', 'fail closed: muted while the fault hold lasts');
    const muted = new Int16Array(160);
    r.dsp.process(new Int16Array(160).fill(8000), muted);
    assert.ok(muted.every((v) => Math.abs(v) < 200), 'comfort noise, not the caller');
    await released;
    assert.equal(r.dsp.mode, 'transparent', 'secure mode left; the call is as before');
    const out = new Int16Array(160);
    r.dsp.process(new Int16Array(160).fill(1000), out);
    assert.equal(out[0], 1000, 'audio flows again after the session');
    assert.equal(r.manager.activeSessionOf('call-1'), undefined);
    assertNoCardData(r.sink.lines, { pan: TEST_CARDS.mastercard });
  });

  it('two payments on one call in sequence, the second declined by rule (security code 000)', async () => {
    const r = rig();
    r.manager.start(request('req-3'), r.dsp);
    r.feed(TEST_CARDS.amex + expiry + '4321');
    const first = await r.ended;
    assert.equal(first.state, 'approved');
    const second = new Promise<PaymentSnapshot>((ok) => r.manager.once('ended', ok));
    r.manager.start(request('req-4'), r.dsp);
    r.feed(TEST_CARDS.discover + expiry + '000');
    const end = await second;
    assert.equal(end.state, 'declined');
    assert.equal(end.result?.reason, 'cvv-mismatch');
    assert.equal(end.result?.masking.clean, true);
    assertNoCardData(r.sink.lines, { pan: TEST_CARDS.discover });
  });

  it('heap check: after a canary payment (test processor in this process too) no string of the card number is left', async function () {
    this.timeout(60_000);
    if (!pki) throw new Error('no PKI');
    const tp = new TestProcessor({ tls: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca }, alg: 'ECDH-ES', clock: systemClock, logger: nullLogger });
    const port = await tp.start();
    try {
      const r = rig({ url: `https://127.0.0.1:${port}/payments`, publicKeyPem: tp.publicKeyPem });
      const canary = makeCanary();
      const control = makeCanary();
      // Positive control: a string made on purpose from another canary must be found.
      const leaked = { text: String.fromCharCode(...control.digits.map((d) => 48 + d)) };
      r.manager.start(request('req-heap'), r.dsp);
      r.feedAudio(keyedAudioCodes(canary.codes));
      r.feed(expiry + CVV);
      const end = await r.ended;
      assert.equal(end.state, 'approved');
      assert.equal(end.result?.last4, canary.digits.slice(-4).join(''));
      assert.equal(tp.counters.approved, 1, 'the in-process processor decrypted and judged it');
      assert.equal(await heapSnapshotHits(canaryNeedles(canary)), 0, 'no string of the canary in the heap');
      assert.ok((await heapSnapshotHits(canaryNeedles(control))) > 0, 'the scan finds a planted string');
      assert.equal(leaked.text.length, 16);
    } finally {
      await tp.stop();
    }
  });
});
