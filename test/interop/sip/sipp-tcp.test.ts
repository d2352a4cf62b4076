/**
 * Interop over stream transports (RFC 3261 §18): sipp's built-in UAS on TCP (`-t t1`) answers our
 * INVITE and takes our BYE; over TLS, socat's OpenSSL listener (this Debian sipp is built without
 * TLS, test-peers.md §1) terminates TLS in front of the same TCP sipp: our certificate checks pass
 * against the test CA, and a listener with a certificate of another CA is refused.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { nullLogger } from '../../../hw/base/logger';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { DemoContactCenter } from '../../../controller/sip/demo-endpoint';
import { requirePeer, stopChild } from '../../lib/sip-peers';
import { makeTestPki, removePki, requireOpenssl, type TestPki } from '../../lib/secure-certs';
import { freeTcpPort, startSipp, startTlsFront, type SippProcess } from '../../lib/sip-sipp';

const DATA = join(__dirname, '..', '..', '..', '..', 'test', 'data', 'sip');
import { peerUri, placeCall, streamSipConfig } from '../../lib/sip-stream';

describe('interop: sipp over TCP and TLS (RFC 3261 §18)', function () {
  this.timeout(40000);
  let sipp: SippProcess | undefined;
  let ua: SipUserAgent | undefined;

  before(function () {
    requirePeer(this, 'sipp');
  });

  afterEach(async () => {
    await ua?.stop();
    ua = undefined;
    if (sipp) {
      await stopChild(sipp.child);
      rmSync(sipp.dir, { recursive: true, force: true });
      sipp = undefined;
    }
  });

  it('sipp -t t1 trunk scenario: INVITE/200/ACK and our BYE over one TCP connection; sipp exits 0', async () => {
    const port = await freeTcpPort();
    sipp = await startSipp({ args: ['-sf', join(DATA, 'trunk-uas-answer.xml'), '-key', 'contact', `sip:trunk@127.0.0.1:${port};transport=tcp`, '-m', '1'], transport: 'tcp', port });
    ua = new SipUserAgent({ config: streamSipConfig('tcp'), log: nullLogger });
    await ua.start();
    const call = placeCall(ua, peerUri('100', sipp.port, 'tcp'));
    assert.deepEqual(await call.result, { answered: true }, sipp.output());
    await call.hangup();
    assert.equal(await sipp.exit, 0, sipp.output());
  });

  it('sipp -t t1 built-in uac calls us over TCP: our demo contact center answers on the accepted connection; sipp exits 0', async () => {
    const demo = new DemoContactCenter({ config: streamSipConfig('tcp'), log: nullLogger });
    await demo.start();
    try {
      sipp = await startSipp({ args: ['-sn', 'uac', `127.0.0.1:${demo.localAddress.port}`, '-m', '1', '-d', '200'], transport: 'tcp', uac: true });
      assert.equal(await sipp.exit, 0, sipp.output());
      assert.equal(demo.calls.length, 1);
      assert.equal(demo.calls[0]?.endedBy, 'remote', 'sipp\'s BYE ended the call');
    } finally {
      await demo.stop();
    }
  });

  describe('TLS through an OpenSSL front (socat)', () => {
    let pki: TestPki | undefined;
    before(function () {
      requireOpenssl(this);
      requirePeer(this, 'socat');
      pki = makeTestPki();
    });
    after(() => removePki(pki));

    it('a verified TLS connection carries the call to sipp; sipp exits 0', async () => {
      const p = pki;
      if (!p) throw new Error('no PKI');
      const frontPort = await freeTcpPort();
      // sipp's Contact names the TLS front, so the ACK and BYE also go through it.
      sipp = await startSipp({ args: ['-sf', join(DATA, 'trunk-uas-answer.xml'), '-key', 'contact', `sips:trunk@127.0.0.1:${frontPort}`, '-m', '1'], transport: 'tcp' });
      const front = await startTlsFront({ certFile: join(p.dir, 'server.crt'), keyFile: join(p.dir, 'server.key'), toPort: sipp.port, port: frontPort });
      try {
        ua = new SipUserAgent({ config: streamSipConfig('tls', p), log: nullLogger });
        await ua.start();
        const call = placeCall(ua, peerUri('100', front.port, 'tls'));
        assert.deepEqual(await call.result, { answered: true }, sipp.output());
        await call.hangup();
        assert.equal(await sipp.exit, 0, sipp.output());
      } finally {
        await stopChild(front.child);
      }
    });

    it('an OpenSSL listener with a certificate of another CA is refused: sipp never sees an INVITE', async () => {
      const p = pki;
      if (!p) throw new Error('no PKI');
      sipp = await startSipp({ args: ['-sn', 'uas', '-m', '1'], transport: 'tcp' });
      const front = await startTlsFront({ certFile: join(p.dir, 'rogue-server.crt'), keyFile: join(p.dir, 'rogue-server.key'), toPort: sipp.port });
      try {
        ua = new SipUserAgent({ config: streamSipConfig('tls', p), log: nullLogger, timers: { t1Ms: 50, t2Ms: 400, t4Ms: 500 } });
        await ua.start();
        const warning = new Promise<string>((resolve) => ua?.once('warning', resolve));
        const call = placeCall(ua, peerUri('100', front.port, 'tls'));
        assert.match(await warning, /TLS connection to 127\.0\.0\.1:\d+ refused: .*certificate/i);
        assert.equal((await call.result).answered, false);
        assert.doesNotMatch(sipp.output(), /INVITE sip:/);
      } finally {
        await stopChild(front.child);
      }
    });
  });
});
