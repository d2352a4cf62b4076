/**
 * SIP over TLS (RFC 3261 §26.3.1, §18) between our user agents with a throwaway PKI: TLS 1.2+,
 * the peer's certificate verified against the configured CA, client certificates when the far end
 * asks for them, and a certificate from another CA refused with a log line that says why.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createLogger, memorySink, nullLogger } from '../../../hw/base/logger';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { DemoContactCenter } from '../../../controller/sip/demo-endpoint';
import { makeTestPki, removePki, requireOpenssl, type TestPki } from '../../lib/secure-certs';
import { peerUri, placeCall, streamSipConfig } from '../../lib/sip-stream';

describe('SIP over TLS (RFC 3261 §26.3.1)', function () {
  this.timeout(20000);
  let pki: TestPki | undefined;

  before(function () {
    requireOpenssl(this);
    pki = makeTestPki();
  });
  after(() => removePki(pki));

  function must(): TestPki {
    if (!pki) throw new Error('no PKI');
    return pki;
  }

  it('§26.3.1: a call over TLS with a verified server certificate is answered; Contact is sips:', async () => {
    const c = streamSipConfig('tls', must());
    const demo = new DemoContactCenter({ config: c, log: nullLogger });
    await demo.start();
    const ua = new SipUserAgent({ config: c, log: nullLogger });
    await ua.start();
    try {
      let contact = '';
      demo.ua.once('incoming-call', (call) => (contact = call.header('contact') ?? ''));
      const call = placeCall(ua, peerUri('100', demo.localAddress.port, 'tls'));
      assert.deepEqual(await call.result, { answered: true });
      assert.match(contact, /^<sips:5550100@127\.0\.0\.1:\d+>$/);
      await call.hangup();
      assert.equal(demo.calls[0]?.endedBy, 'remote');
    } finally {
      await ua.stop();
      await demo.stop();
    }
  });

  it('a client certificate is presented when the far end requires one (sip.tls.verifyClient)', async () => {
    const p = must();
    const server = streamSipConfig('tls', p, { tls: { caFile: join(p.dir, 'ca.crt'), certFile: join(p.dir, 'server.crt'), keyFile: join(p.dir, 'server.key'), verifyClient: true } });
    const demo = new DemoContactCenter({ config: server, log: nullLogger });
    await demo.start();
    const client = streamSipConfig('tls', p, { tls: { caFile: join(p.dir, 'ca.crt'), certFile: join(p.dir, 'client.crt'), keyFile: join(p.dir, 'client.key') } });
    const ua = new SipUserAgent({ config: client, log: nullLogger });
    await ua.start();
    try {
      const call = placeCall(ua, peerUri('100', demo.localAddress.port, 'tls'));
      assert.deepEqual(await call.result, { answered: true });
      await call.hangup();
    } finally {
      await ua.stop();
      await demo.stop();
    }
  });

  it('a server certificate from another CA is refused: no INVITE reaches it, the log line names the destination and the reason', async () => {
    const p = must();
    const rogue = streamSipConfig('tls', p, { tls: { caFile: join(p.dir, 'ca.crt'), certFile: join(p.dir, 'rogue-server.crt'), keyFile: join(p.dir, 'rogue-server.key') } });
    const demo = new DemoContactCenter({ config: rogue, log: nullLogger });
    await demo.start();
    let offered = 0;
    demo.ua.on('incoming-call', () => offered++);
    const sink = memorySink();
    const ua = new SipUserAgent({ config: streamSipConfig('tls', p), log: createLogger({ level: 'info', sinks: [sink] }), timers: { t1Ms: 50, t2Ms: 400, t4Ms: 500 } });
    await ua.start();
    try {
      const call = placeCall(ua, peerUri('100', demo.localAddress.port, 'tls'));
      const r = await call.result;
      assert.equal(r.answered, false);
      assert.equal(offered, 0);
      const line = sink.lines.find((l) => l.includes(`TLS connection to 127.0.0.1:${demo.localAddress.port} refused`));
      assert.ok(line, `no refusal line in:\n${sink.lines.join('\n')}`);
      assert.match(line, /certificate/i);
    } finally {
      await ua.stop();
      await demo.stop();
    }
  });
});
