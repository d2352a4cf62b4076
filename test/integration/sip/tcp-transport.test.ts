/**
 * RFC 3261 §18 over TCP between two of our user agents on real sockets: Via and Contact name TCP,
 * responses come back on the connection the request used (§18.2.2), one connection per peer is
 * reused for the whole call, and a connect to a closed port reports a transport error.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createLogger, memorySink, nullLogger } from '../../../hw/base/logger';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { DemoContactCenter } from '../../../controller/sip/demo-endpoint';
import { StreamTransport } from '../../../controller/sip/core/transport-stream';
import { EdgeFilteredTransport } from '../../../controller/sip/edge/edge-transport';
import { peerUri, placeCall, streamSipConfig } from '../../lib/sip-stream';

describe('SIP over TCP (RFC 3261 §18)', function () {
  this.timeout(15000);

  it('§18.1/§18.2.2: a call over TCP is answered and hung up; one connection carries the whole dialog', async () => {
    const c = streamSipConfig('tcp');
    const demo = new DemoContactCenter({ config: c, log: nullLogger });
    await demo.start();
    const ua = new SipUserAgent({ config: c, log: nullLogger });
    await ua.start();
    try {
      const call = placeCall(ua, peerUri('100', demo.localAddress.port, 'tcp'));
      assert.deepEqual(await call.result, { answered: true });
      await call.hangup();
      assert.equal(demo.calls.length, 1);
      assert.equal(demo.calls[0]?.endedBy, 'remote', 'the demo saw our BYE');
      const outer = (ua as unknown as { transport: unknown }).transport;
      const t = outer instanceof EdgeFilteredTransport ? outer.wrapped : outer;
      assert.ok(t instanceof StreamTransport);
      assert.equal(t.protocol, 'TCP');
      assert.equal(t.connectionCount, 1, 'INVITE, ACK and BYE reused one connection');
    } finally {
      await ua.stop();
      await demo.stop();
    }
  });

  it('§18.1.1: a refused connection fails the call and is logged with the destination', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    const sink = memorySink();
    const log = createLogger({ level: 'debug', sinks: [sink] });
    const ua = new SipUserAgent({ config: streamSipConfig('tcp'), log, timers: { t1Ms: 50, t2Ms: 400, t4Ms: 500 } });
    await ua.start();
    try {
      const warning = new Promise<string>((resolve) => ua.once('warning', resolve));
      const call = placeCall(ua, peerUri('100', closed, 'tcp'));
      assert.match(await warning, new RegExp(`connection to 127\\.0\\.0\\.1:${closed} failed`));
      const r = await call.result;
      assert.equal(r.answered, false);
      assert.ok(sink.lines.some((l) => l.includes(`SIP TCP connection to 127.0.0.1:${closed} failed`)), 'a log line names the destination');
    } finally {
      await ua.stop();
    }
  });
});
