/**
 * Payments as the appliance runs them: PaymentsService (controller/app/payments.ts) on a temp SQLite
 * store, the real UplinkDsp per call, keys as DTMF audio, the in-process test processor over mutual
 * TLS (kind "test") or misbehaving processors over the generic JWE connector (kind "generic-jwe").
 * Issue #6 evidence: processor down / slow / bad certificate / bad response, a masking failure
 * injected mid-session, hang-up mid-entry, two payments on one call, idempotent start, timeouts.
 * Every case checks that the call stays up: the uplink is back to transparent and carries audio.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateJweKeyPair } from '../../../controller/secure/test-processor';
import { dtmfTone } from '../../../controller/dsp/tone-generator';
import { encode } from '../../../controller/media/g711';
import type { PaySnapshotBody } from '../../../controller/fleet/topics';
import { makeTestPki, removePki, requireOpenssl, type TestPki } from '../../lib/secure-certs';
import { assertNoCardData, futureExpiry, TEST_CARDS } from '../../lib/secure-cards';
import { keyedAudio } from '../../lib/secure-caller';
import { ManualClock } from '../../lib/manual-clock';
import { closedPort, FakeProcessor } from '../../lib/secure-fake-processor';
import { startPaymentsService, type ServiceRig } from '../../lib/secure-service';

const START = { amountMinor: 2500, currency: 'EUR', reference: 'inv-88' };
const CVV = '837';

interface Ended extends PaySnapshotBody {
  result?: { outcome: string; reason?: string; last4?: string; masking: { faulted: boolean; clean: boolean; maskedTones: number; secondCheck: { ran: boolean; digitsFound: number } } };
}

/** The call is as before: after a quiet moment the uplink is transparent, audio out equals audio in. */
function assertCallUp(rig: ServiceRig, callId: string): void {
  const dsp = rig.uplink(callId);
  assert.notEqual(dsp.mode, 'secure');
  // The delay line is given back at the first quiet moment (DESIGN.md §5).
  rig.feed(callId, new Int16Array(1600));
  assert.equal(dsp.mode, 'transparent', 'secure mode left, the delay given back');
  const input = new Int16Array(160).map((_, i) => Math.round(3000 * Math.sin(i / 5)));
  const out = new Int16Array(160);
  dsp.process(input, out);
  assert.deepEqual(out, input, 'the caller is heard again');
}

describe('secure: PaymentsService with the real UplinkDsp (issue #6 evidence)', function () {
  this.timeout(20_000);
  let pki: TestPki | undefined;
  let jweKeyFile = '';
  const expiry = futureExpiry(Date.now());
  const rigs: ServiceRig[] = [];

  before(function () {
    requireOpenssl(this);
    pki = makeTestPki();
    jweKeyFile = join(pki.dir, 'jwe-pub.pem');
    writeFileSync(jweKeyFile, generateJweKeyPair('ECDH-ES').publicKeyPem);
  });
  after(() => removePki(pki));
  afterEach(async () => {
    for (const r of rigs.splice(0)) await r.close();
  });

  async function service(payments: Record<string, unknown> = {}): Promise<ServiceRig> {
    const rig = await startPaymentsService({ faultHoldMs: 200, processor: { alg: 'ECDH-ES' }, ...payments });
    rigs.push(rig);
    return rig;
  }

  /** A generic-jwe service pointing at `port` on 127.0.0.1 (timeout 1 s, the schema's minimum). */
  function genericJwe(port: number): Promise<ServiceRig> {
    if (!pki) throw new Error('no PKI');
    return service({
      processor: { kind: 'generic-jwe', url: `https://127.0.0.1:${port}/pay`, alg: 'ECDH-ES', publicKeyFile: jweKeyFile, caFile: join(pki.dir, 'ca.crt'), certFile: join(pki.dir, 'client.crt'), keyFile: join(pki.dir, 'client.key'), timeoutMs: 1000 },
    });
  }

  function start(rig: ServiceRig, requestId: string, extra: Record<string, unknown> = {}): string {
    rig.uplink('call-1');
    const reply = rig.service.command('start', { requestId, callId: 'call-1', ...START, ...extra });
    assert.ok(reply.ok, JSON.stringify(reply));
    return reply.data.sessionId;
  }

  it('approved through the test processor: masked record in the store, pay/{id} cleared, nothing leaked', async () => {
    const rig = await service();
    const sessionId = start(rig, 'req-ok');
    const ended = rig.nextEnd();
    rig.feed('call-1', keyedAudio(TEST_CARDS.visa + expiry + CVV));
    const end = (await ended) as Ended;
    assert.equal(end.state, 'approved');
    assert.equal(end.result?.last4, '1111');
    assert.equal(end.result?.masking.clean, true);
    assert.equal(end.result?.masking.secondCheck.ran, true);
    assert.equal(end.result?.masking.maskedTones, 16 + 4 + 3);
    const row = rig.store.payments.get(sessionId);
    assert.equal(row?.outcome, 'approved');
    assert.deepEqual(rig.retained.at(-1), { sessionId, snapshot: null }, 'the retained snapshot is cleared at the end');
    assert.ok(rig.retained.length > 3, 'progress was retained along the way');
    assertCallUp(rig, 'call-1');
    assertNoCardData(rig.texts(), { pan: TEST_CARDS.visa, expiry, cvv: CVV });
  });

  it('pay.start is idempotent by request id, also after the end; another request id then starts a new session', async () => {
    const rig = await service();
    const first = start(rig, 'req-a');
    assert.equal(start(rig, 'req-a'), first);
    const busy = rig.service.command('start', { requestId: 'req-b', callId: 'call-1', ...START });
    assert.ok(!busy.ok && busy.error.code === 'ESECURE_BUSY');
    const cancel = rig.service.command('cancel', { sessionId: first });
    assert.ok(cancel.ok && cancel.data.state === 'cancelled');
    assert.equal(start(rig, 'req-a'), first, 'the ended session answers its request id');
    const status = rig.service.command('status', { sessionId: first });
    assert.ok(status.ok && status.data.state === 'cancelled');
    assert.notEqual(start(rig, 'req-b'), first);
  });

  const failures: [string, () => Promise<{ port: number; stop?: () => Promise<void>; requests?: () => number }>, string][] = [
    ['processor down', async () => ({ port: await closedPort() }), 'unreachable'],
    ['processor slow (no answer within timeoutMs)', () => fake('server', () => undefined), 'timeout'],
    ['processor certificate from another CA', () => fake('rogue', (res) => res.end('{"status":"approved","reference":"x"}')), 'tls'],
    ['processor answers garbage', () => fake('server', (res) => res.end('<html>')), 'bad-response'],
    ['processor answers HTTP 503', () => fake('server', (res) => res.writeHead(503).end('{}')), 'http-503'],
  ];
  async function fake(cert: 'server' | 'rogue', answer: (res: import('node:http').ServerResponse) => void) {
    if (!pki) throw new Error('no PKI');
    const p = new FakeProcessor(cert === 'server' ? pki.server : pki.rogueServer, pki.ca, (_q, res) => answer(res));
    const port = await p.start();
    return { port, stop: () => p.stop(), requests: () => p.requests };
  }
  for (const [name, make, reason] of failures) {
    it(`${name} → the session ends error ${reason}; the call stays up and takes another payment`, async () => {
      const target = await make();
      try {
        const rig = await genericJwe(target.port);
        const sessionId = start(rig, 'req-1', { fields: ['card-number', 'expiry'] });
        const ended = rig.nextEnd();
        rig.feed('call-1', keyedAudio(TEST_CARDS.mastercard + expiry));
        const end = (await ended) as Ended;
        assert.equal(end.state, 'error');
        assert.equal(end.result?.reason, reason);
        assert.equal(end.result?.masking.clean, true);
        assert.equal(rig.store.payments.get(sessionId)?.outcome, 'error');
        if (reason === 'tls') assert.equal(target.requests?.(), 0, 'nothing sent to a server we do not trust');
        assertCallUp(rig, 'call-1');
        // Nothing was kept for a retry: the agent starts a new session and the caller keys again.
        const again = start(rig, 'req-2', { fields: ['card-number', 'expiry'] });
        assert.notEqual(again, sessionId);
        assert.equal(rig.uplink('call-1').mode, 'secure');
        assert.ok(rig.service.command('cancel', { sessionId: again }).ok);
        assertNoCardData(rig.texts(), { pan: TEST_CARDS.mastercard, expiry });
      } finally {
        await target.stop?.();
      }
    });
  }

  for (const inject of ['an exception in the DSP (bad block)', 'an overrun']) {
    it(`masking failure mid-session (${inject}): uplink muted, session ends error, the call stays up and pays next`, async () => {
      const rig = await service();
      const dsp = rig.uplink('call-1');
      start(rig, `req-${inject.length}`);
      const ended = rig.nextEnd();
      rig.feed('call-1', keyedAudio(TEST_CARDS.visa.slice(0, 6)));
      if (inject === 'an overrun') dsp.signalOverrun();
      else dsp.process(new Int16Array(160), new Int16Array(80));
      const end = (await ended) as Ended;
      assert.equal(end.state, 'error');
      assert.equal(end.result?.reason, 'masking-fault');
      assert.equal(end.result?.masking.faulted, true);
      assert.equal(dsp.mode, 'faulted');
      // Fail closed: the rest of the card keyed during the hold leaves as comfort noise only.
      const heard = rig.feed('call-1', keyedAudio(TEST_CARDS.visa.slice(6)));
      assert.ok(heard.every((v) => Math.abs(v) < 200), 'muted: comfort noise, not the caller');
      await new Promise<void>((ok) => setTimeout(ok, 300));
      assertCallUp(rig, 'call-1');
      // Two payments on one call: the next one goes through.
      start(rig, `req-next-${inject.length}`);
      const next = rig.nextEnd();
      rig.feed('call-1', keyedAudio(TEST_CARDS.amex + expiry + '4321'));
      const second = (await next) as Ended;
      assert.equal(second.state, 'approved');
      assert.equal(second.result?.masking.faulted, false);
      assertNoCardData(rig.texts(), { pan: TEST_CARDS.visa, expiry });
    });
  }

  it('a tone in what left (second check) raises a critical masking alarm on the fleet and marks the record', async () => {
    const rig = await service();
    const sessionId = start(rig, 'req-leak');
    const ended = rig.nextEnd();
    // As if the masking had let a keypress out: an unmasked 5 in the encoded payloads of the call.
    const tone = dtmfTone('5', { durationMs: 80 });
    for (let i = 0; i < tone.length; i += 160) rig.service.observe('call-1', encode('ulaw', tone.subarray(i, i + 160)), 'ulaw');
    rig.service.command('cancel', { sessionId });
    const end = (await ended) as Ended;
    assert.equal(end.result?.masking.clean, false);
    assert.equal(end.result?.masking.secondCheck.digitsFound, 1);
    const alarm = rig.alarms.find((a) => a.alarm?.severity === 'critical');
    assert.ok(alarm, 'a critical alarm was raised');
    assert.match(alarm.alarmId, new RegExp(sessionId));
    assert.equal(alarm.alarm?.source, 'call/call-1');
    assert.equal(rig.store.payments.get(sessionId)?.second_check_hits, 1);
    assert.equal(rig.store.payments.get(sessionId)?.masking_clean, 0);
    assert.ok(rig.sink.lines.some((l) => /masking alarm/.test(l)), 'logged at fatal');
  });

  it('hang-up mid-entry: cancelled with reason hangup, recorded, nothing kept', async () => {
    const rig = await service();
    const sessionId = start(rig, 'req-hang');
    const ended = rig.nextEnd();
    rig.feed('call-1', keyedAudio(TEST_CARDS.discover.slice(0, 9)));
    rig.service.callEnded('call-1');
    const end = (await ended) as Ended;
    assert.equal(end.state, 'cancelled');
    assert.equal(end.result?.reason, 'hangup');
    assert.equal(rig.store.payments.get(sessionId)?.outcome, 'cancelled');
    const status = rig.service.command('status', { sessionId });
    assert.ok(status.ok && status.data.state === 'cancelled');
    assertNoCardData(rig.texts(), { pan: TEST_CARDS.discover });
  });

  it('field timeout and session timeout end the session timed-out; the call stays up (injected clock)', async () => {
    const clock = new ManualClock(Date.now());
    const rig = await startPaymentsService({ processor: { alg: 'ECDH-ES' } }, clock);
    rigs.push(rig);
    start(rig, 'req-ft', { fieldTimeoutMs: 1000 });
    const first = rig.nextEnd();
    rig.feed('call-1', keyedAudio('4111'));
    clock.advance(999);
    assert.equal(rig.uplink('call-1').mode, 'secure', 'not yet');
    clock.advance(1);
    const a = (await first) as Ended;
    assert.equal(a.state, 'timed-out');
    assert.equal(a.result?.reason, 'field-timeout');
    assertCallUp(rig, 'call-1');
    start(rig, 'req-st', { fieldTimeoutMs: 60_000, sessionTimeoutMs: 5000 });
    const second = rig.nextEnd();
    for (let i = 0; i < 8; i++) {
      rig.feed('call-1', keyedAudio('4'));
      clock.advance(700);
    }
    const b = (await second) as Ended;
    assert.equal(b.state, 'timed-out');
    assert.equal(b.result?.reason, 'session-timeout');
    assert.equal((b.fields as { count: number }[])[0]?.count, 8, 'keys kept coming until the session timeout');
    assertCallUp(rig, 'call-1');
  });
});
