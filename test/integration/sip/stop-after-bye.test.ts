/**
 * RFC 3261 §15.1.1: a BYE's transaction must be allowed to finish. Stopping the user agent right
 * after a hang-up (the appliance's shutdown path) waits for the BYE's final response instead of
 * closing the socket under it, so the far end sees the call end by our BYE.
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { DemoContactCenter } from '../../../controller/sip/demo-endpoint';
import { parseConfig } from '../../../controller/config/load';
import { buildOffer } from '../../../controller/media/sdp';

describe('SIP user agent stop right after a local hang-up', () => {
  it('lets the BYE complete before closing: the far end sees the call ended by our BYE', async () => {
    const c = parseConfig({ sip: { bindPort: 0, demoEndpoint: { bindPort: 0 } } });
    const demo = new DemoContactCenter({ config: c.sip, log: nullLogger });
    await demo.start();
    const ua = new SipUserAgent({ config: c.sip, log: nullLogger });
    await ua.start();
    try {
      const call = ua.invite({
        requestUri: `sip:100@127.0.0.1:${demo.ua.localAddress.port}`,
        fromUser: '5550100',
        sdpOffer: buildOffer({ address: '127.0.0.1', port: 40000, codecs: ['PCMU'], ptimeMs: 20 }),
      });
      await new Promise<void>((resolve, reject) => {
        call.once('answered', () => resolve());
        call.once('failed', (status) => reject(new Error(`call failed with ${status}`)));
      });
      const ended = new Promise<[string, string]>((resolve) => call.once('ended', (by, reason) => resolve([by, reason])));
      void call.hangup();
      await ua.stop();
      assert.deepEqual(await ended, ['local', 'hangup']);
      assert.equal(demo.calls.length, 1);
      assert.equal(demo.calls[0]?.endedBy, 'remote', 'the demo contact center received our BYE');
    } finally {
      await ua.stop();
      await demo.stop();
    }
  });
});
