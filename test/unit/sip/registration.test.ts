/**
 * Registration, RFC 3261 §10.2, through the trunks and the user agent with an in-memory transport
 * and a manual clock: binding, refresh before expiry with the same Call-ID and a higher CSeq
 * (§10.2.4), digest challenge (§22), 423 Interval Too Brief (§10.2.8), failure backoff, unregister.
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { configSchema } from '../../../controller/config/schema';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { SipTrunks, type TrunkState } from '../../../controller/sip/trunk/trunk-set';
import { backoffDelayMs, refreshDelayMs } from '../../../controller/sip/trunk/registration';
import { ReachabilityTracker } from '../../../controller/sip/trunk/reachability';
import { buildResponse } from '../../../controller/sip/core/messages/build';
import { addHeader, cseq, header, type SipRequest } from '../../../controller/sip/core/messages/message';
import { ManualClock } from '../../lib/manual-clock';
import { FakeSipTransport } from '../../lib/sip-fake-transport';

const REGISTRAR = { address: '127.0.0.1', port: 5080 };

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

async function setup(): Promise<{ trunks: SipTrunks; clock: ManualClock; transport: FakeSipTransport; states: TrunkState[] }> {
  const clock = new ManualClock();
  const transport = new FakeSipTransport();
  const config = configSchema.parse({
    sip: {
      trunks: [{
        name: 'cc', uri: 'sip:{called}@127.0.0.1:5080', optionsIntervalS: 0,
        auth: { username: 'branch7', password: 's3cret' },
        register: { enabled: true, expiresS: 3600, retryMinS: 5, retryMaxS: 20 },
      }],
    },
  }).sip;
  const ua = new SipUserAgent({ config, log: nullLogger, clock, transport });
  await ua.start();
  const trunks = new SipTrunks({ config, ua, log: nullLogger, clock });
  const states: TrunkState[] = [];
  trunks.on('trunk-state', (s) => states.push(s));
  trunks.start();
  return { trunks, clock, transport, states };
}

function registers(t: FakeSipTransport): SipRequest[] {
  return t.requests('REGISTER');
}

function ok(req: SipRequest, contactExpiresS?: number): ReturnType<typeof buildResponse> {
  const res = buildResponse(req, 200, undefined, { toTag: 'r' });
  if (contactExpiresS !== undefined) addHeader(res, 'Contact', `${header(req, 'contact') ?? ''};expires=${contactExpiresS}`);
  return res;
}

describe('SIP registration (RFC 3261 §10.2)', () => {
  it('§10.2: REGISTER to the registrar domain with AOR in To/From, our Contact and Expires; 200 → registered', async () => {
    const { trunks, transport, states } = await setup();
    const r = registers(transport)[0];
    assert.ok(r);
    assert.equal(r.uri, 'sip:127.0.0.1:5080');
    assert.match(header(r, 'to') ?? '', /^<sip:branch7@127\.0\.0\.1>$/);
    assert.match(header(r, 'from') ?? '', /^<sip:branch7@127\.0\.0\.1>;tag=/);
    assert.equal(header(r, 'contact'), '<sip:branch7@127.0.0.1:5062>');
    assert.equal(header(r, 'expires'), '3600');
    transport.inject(ok(r, 600), REGISTRAR);
    await settle();
    assert.equal(trunks.trunkStates()[0]?.registration, 'registered');
    assert.equal(trunks.trunkStates()[0]?.registered, true);
    assert.equal(states.at(-1)?.registered, true);
  });

  it('§10.2.4: refreshed before the granted expiry (Contact expires=600 → at 540 s) with the same Call-ID and a higher CSeq', async () => {
    const { clock, transport } = await setup();
    const first = registers(transport)[0] ?? assert.fail();
    transport.inject(ok(first, 600), REGISTRAR);
    await settle();
    clock.advance(539_000);
    assert.equal(registers(transport).length, 1);
    clock.advance(1_000);
    const refresh = registers(transport)[1];
    assert.ok(refresh, 'refresh sent at 540 s');
    assert.equal(header(refresh, 'call-id'), header(first, 'call-id'));
    assert.ok(cseq(refresh).seq > cseq(first).seq);
  });

  it('§22.2: a 401 is answered with digest credentials and CSeq + 1', async () => {
    const { trunks, transport } = await setup();
    const first = registers(transport)[0] ?? assert.fail();
    const ch = buildResponse(first, 401, undefined, { toTag: 'c' });
    addHeader(ch, 'WWW-Authenticate', 'Digest realm="trunk.test", nonce="n1", qop="auth", algorithm=SHA-256');
    transport.inject(ch, REGISTRAR);
    const second = registers(transport)[1];
    assert.ok(second);
    assert.equal(cseq(second).seq, cseq(first).seq + 1);
    assert.match(header(second, 'authorization') ?? '', /^Digest username="branch7", realm="trunk.test".*algorithm=SHA-256/);
    transport.inject(ok(second), REGISTRAR);
    await settle();
    assert.equal(trunks.trunkStates()[0]?.registration, 'registered');
  });

  it('§10.2.8: 423 Interval Too Brief with Min-Expires → registers again at once asking for that expiry', async () => {
    const { transport } = await setup();
    const first = registers(transport)[0] ?? assert.fail();
    const res = buildResponse(first, 423, 'Interval Too Brief', { toTag: 'c' });
    addHeader(res, 'Min-Expires', '7200');
    transport.inject(res, REGISTRAR);
    await settle();
    assert.equal(header(registers(transport)[1] ?? assert.fail(), 'expires'), '7200');
  });

  it('failures back off 5 s, 10 s, 20 s, 20 s (retryMinS doubling to retryMaxS); the trunk state carries the error', async () => {
    const { clock, transport, trunks } = await setup();
    const delays = [5_000, 10_000, 20_000, 20_000];
    for (const [i, d] of delays.entries()) {
      const r = registers(transport)[i] ?? assert.fail(`REGISTER ${i}`);
      transport.inject(buildResponse(r, 403, undefined, { toTag: 'c' }), REGISTRAR);
      await settle();
      assert.equal(trunks.trunkStates()[0]?.registration, 'failed');
      assert.match(trunks.trunkStates()[0]?.lastError ?? '', /^REGISTER 403/);
      clock.advance(d - 1);
      assert.equal(registers(transport).length, i + 1, `no retry before ${d} ms`);
      clock.advance(1);
      assert.equal(registers(transport).length, i + 2, `retry at ${d} ms`);
    }
  });

  it('§10.2.2: stop() when registered sends REGISTER with Expires: 0', async () => {
    const { trunks, transport } = await setup();
    transport.inject(ok(registers(transport)[0] ?? assert.fail(), 600), REGISTRAR);
    await settle();
    const stopped = trunks.stop();
    const un = registers(transport)[1];
    assert.ok(un);
    assert.equal(header(un, 'expires'), '0');
    transport.inject(ok(un), REGISTRAR);
    await stopped;
  });

  it('a probe or REGISTER due after the user agent stopped resolves as a failure instead of throwing', async () => {
    const transport = new FakeSipTransport();
    const config = configSchema.parse({}).sip;
    const ua = new SipUserAgent({ config, log: nullLogger, clock: new ManualClock(), transport });
    const r = await ua.request({ method: 'OPTIONS', requestUri: 'sip:127.0.0.1:5080', toUri: 'sip:127.0.0.1:5080', fromUri: 'sip:a@127.0.0.1', callId: 'c', cseq: 1 });
    assert.equal(r.status, 503);
    assert.match(r.transportError ?? '', /not running/);
    assert.equal(transport.sent.length, 0);
  });

  it('refresh and backoff arithmetic', () => {
    assert.equal(refreshDelayMs(3600), 3540_000);
    assert.equal(refreshDelayMs(60), 30_000);
    assert.equal(backoffDelayMs(1, 5, 300), 5_000);
    assert.equal(backoffDelayMs(7, 5, 300), 300_000);
  });

  it('reachability hysteresis: down after downAfter misses in a row, up again only after upAfter successes in a row', () => {
    const r = new ReachabilityTracker({ downAfter: 2, upAfter: 3 });
    assert.equal(r.state, 'unknown');
    r.record(false);
    assert.equal(r.state, 'unknown');
    assert.equal(r.record(false), true);
    assert.equal(r.state, 'down');
    r.record(true);
    r.record(true);
    r.record(false);
    r.record(true);
    r.record(true);
    assert.equal(r.state, 'down', 'a miss resets the success count');
    assert.equal(r.record(true), true);
    assert.equal(r.state, 'up');
  });
});
