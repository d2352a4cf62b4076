/**
 * The walking skeleton's media path end to end on real sockets: card PCM → ChannelPipeline →
 * RtpSession → demo contact center (echo) → RtpSession → jitter buffer → toCard, with the SIP
 * call set up by our user agent. With μ-law on the card and PCMU negotiated, what the card gets
 * back must be byte for byte what it sent.
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { DemoContactCenter } from '../../../controller/sip/demo-endpoint';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { ChannelPipeline } from '../../../controller/media/channel-pipeline';
import { encode } from '../../../controller/media/g711';
import { buildOffer, parseAnswer } from '../../../controller/media/sdp';
import { TransparentUplink } from '../../../controller/media/uplink-processor';
import { answered, openTestRtp, sleep, testSipConfig, waitFor } from '../../lib/sip-call-harness';

describe('card → pipeline → RTP → demo echo → RTP → jitter buffer → card', function () {
  this.timeout(20_000);

  it('returns the card audio unchanged (PCMU end to end), counting 50 packets each way and no loss', async () => {
    const config = testSipConfig({ rtpPortMin: 45000, rtpPortMax: 45999, codecs: ['PCMU'] });
    const cc = new DemoContactCenter({ config, log: nullLogger, echoDelayMs: 0 });
    await cc.start();
    const ua = new SipUserAgent({ config, log: nullLogger });
    await ua.start();
    const rtp = await openTestRtp(nullLogger, [0, 101]);
    try {
      const call = ua.invite({
        requestUri: `sip:100@127.0.0.1:${cc.localAddress.port}`,
        fromUser: '5551234567',
        sdpOffer: buildOffer({ address: '127.0.0.1', port: rtp.localPort, codecs: config.codecs, ptimeMs: config.ptimeMs }),
      });
      const media = parseAnswer(await answered(call), { codecs: config.codecs, ptimeMs: config.ptimeMs });
      rtp.setRemote(media.address, media.port);
      const pipeline = new ChannelPipeline({
        cardLaw: 'ulaw',
        rtpCodecLaw: media.codec === 'PCMU' ? 'ulaw' : 'alaw',
        ptimeMs: media.ptimeMs,
        rtp,
        uplink: new TransparentUplink(),
        log: nullLogger,
        ...(media.telephoneEventPt !== undefined ? { telephoneEventPt: media.telephoneEventPt } : {}),
        jitterMaxMs: 5000, // hold the whole second: this test pulls only after everything is back
        jitterTimeScaling: false, // bit-exact playout (the buffer is far above its target here)
      });
      // One second of a 440 Hz tone in 10 ms card chunks.
      const tone = Int16Array.from({ length: 8000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
      const card = Buffer.from(encode('ulaw', tone));
      for (let o = 0; o < card.length; o += 80) {
        pipeline.fromCard(card.subarray(o, o + 80));
        if (o % 800 === 0) await sleep(5);
      }
      await waitFor('50 echoed packets', 10_000, (resolve) => {
        const t = setInterval(() => rtp.counters.packetsReceived >= 50 && (clearInterval(t), resolve(undefined)), 10);
      });
      const out: Buffer[] = [];
      for (let i = 0; i < 100; i++) out.push(pipeline.toCard());
      const back = Buffer.concat(out);
      assert.equal(back.length, 8000);
      assert.deepEqual(back, card);
      const c = pipeline.counters;
      assert.equal(c.rtp.packetsSent, 50);
      assert.equal(c.rtp.packetsReceived, 50);
      assert.equal(c.rtp.lost, 0);
      assert.equal(c.jitter.concealedSamples, 0);
      pipeline.close();
      await call.hangup();
      assert.equal(cc.calls[0]?.packetsReceived, 50);
      assert.equal(cc.calls[0]?.nonSilent, true);
    } finally {
      await rtp.close();
      await ua.stop();
      await cc.stop();
    }
  });
});
