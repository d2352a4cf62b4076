/**
 * Failover on a transport error (RFC 3263 §4.3) over TCP with real sockets: the primary trunk's
 * port refuses the connection, the call goes to the secondary (a demo contact center) at once,
 * without waiting for Timer B; the primary's state names the transport error.
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { DemoContactCenter } from '../../../controller/sip/demo-endpoint';
import { SipTrunks } from '../../../controller/sip/trunk/trunk-set';
import { freeTcpPort } from '../../lib/sip-sipp';
import { placeCall, streamSipConfig } from '../../lib/sip-stream';

describe('SIP trunk failover on a transport error (TCP, real sockets)', function () {
  this.timeout(15000);

  it('connection refused on the primary → answered by the secondary well before Timer B', async () => {
    const demo = new DemoContactCenter({ config: streamSipConfig('tcp'), log: nullLogger });
    await demo.start();
    const dead = await freeTcpPort();
    const config = streamSipConfig('tcp', undefined, {
      trunks: [
        { name: 'primary', uri: `sip:{called}@127.0.0.1:${dead};transport=tcp`, optionsIntervalS: 0 },
        { name: 'secondary', uri: `sip:{called}@127.0.0.1:${demo.localAddress.port};transport=tcp`, optionsIntervalS: 0 },
      ],
    });
    const ua = new SipUserAgent({ config, log: nullLogger });
    await ua.start();
    const trunks = new SipTrunks({ config, ua, log: nullLogger });
    trunks.start();
    try {
      const call = placeCall(ua, `sip:5551000@127.0.0.1:${dead};transport=tcp`);
      assert.deepEqual(await call.result, { answered: true });
      assert.equal(demo.calls.length, 1);
      await call.hangup();
      const p = trunks.trunkStates().find((s) => s.name === 'primary');
      assert.match(p?.lastError ?? '', /^INVITE 503 transport error: SIP TCP connection to 127\.0\.0\.1:\d+ failed/);
    } finally {
      await trunks.stop();
      await ua.stop();
      await demo.stop();
    }
  });
});
