/**
 * Our SipUserAgent calls our demo contact center over real UDP sockets on 127.0.0.1: INVITE,
 * 180, 200, ACK, RTP both ways (the echo comes back delayed and equal to what we sent), BYE
 * from either side, and the endpoint's per-call stats.
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { DemoContactCenter, type DemoCallStats } from '../../../controller/sip/demo-endpoint';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { buildOffer, parseAnswer } from '../../../controller/media/sdp';
import type { RtpSession } from '../../../controller/media/rtp-session';
import { ManualClock } from '../../lib/manual-clock';
import { answered, ended, openTestRtp, sendPattern, sleep, testSipConfig, waitFor } from '../../lib/sip-call-harness';

describe('SipUserAgent ↔ demo contact center over UDP', () => {
  let cc: DemoContactCenter;
  let ua: SipUserAgent;
  let rtp: RtpSession;

  beforeEach(async () => {
    const config = testSipConfig({ rtpPortMin: 40000, rtpPortMax: 40999 });
    cc = new DemoContactCenter({ config, log: nullLogger, echoDelayMs: 200 });
    await cc.start();
    ua = new SipUserAgent({ config, log: nullLogger });
    await ua.start();
    rtp = await openTestRtp();
  });

  afterEach(async () => {
    await rtp.close();
    await ua.stop();
    await cc.stop();
  });

  function call(): ReturnType<SipUserAgent['invite']> {
    return ua.invite({
      requestUri: `sip:100@127.0.0.1:${cc.localAddress.port}`,
      fromUser: '5551234567',
      fromDisplayName: 'Demo Caller',
      headers: { 'X-Tonewall-Call-Id': 'tw-int-1' },
      sdpOffer: buildOffer({ address: '127.0.0.1', port: rtp.localPort, codecs: ['PCMU', 'PCMA'], ptimeMs: 20 }),
    });
  }

  it('answers with 180 then 200 + SDP, echoes our audio back unchanged, and counts it; BYE from our side', async () => {
    const c = call();
    const progress: number[] = [];
    c.on('progress', (s) => progress.push(s));
    const sdp = await answered(c);
    assert.deepEqual(progress, [180]);
    const media = parseAnswer(sdp, { codecs: ['PCMU', 'PCMA'], ptimeMs: 20 });
    assert.equal(media.codec, 'PCMU');
    rtp.setRemote(media.address, media.port);
    const echoed: Buffer[] = [];
    rtp.on('packet', (p) => echoed.push(Buffer.from(p.payload)));
    const sent = await sendPattern(rtp, 25);
    await waitFor('the echo of 25 packets', 5000, (resolve) => {
      const check = setInterval(() => {
        if (echoed.length >= 25) {
          clearInterval(check);
          resolve(undefined);
        }
      }, 20);
    });
    assert.deepEqual(echoed, sent);
    await c.hangup();
    assert.equal(c.state, 'terminated');
    const stats = await waitFor<DemoCallStats>('the demo call to end', 5000, (resolve) => {
      const s = cc.calls[0];
      if (s?.endedBy) resolve(s);
      else cc.once('call-ended', resolve);
    });
    assert.equal(stats.applianceCallId, 'tw-int-1');
    assert.equal(stats.packetsReceived, 25);
    assert.equal(stats.packetsEchoed, 25);
    assert.equal(stats.nonSilent, true);
    assert.ok(stats.rmsDbfs > -30 && stats.rmsDbfs <= 0, `rms ${stats.rmsDbfs} dBFS`);
    assert.equal(stats.endedBy, 'remote');
  });

  it('the echo is delayed by the configured 200 ms of the endpoint clock (manual clock: nothing before, everything after)', async () => {
    await cc.stop();
    const clock = new ManualClock();
    cc = new DemoContactCenter({ config: testSipConfig({ rtpPortMin: 41000, rtpPortMax: 41999 }), log: nullLogger, clock, echoDelayMs: 200 });
    await cc.start();
    const c = call();
    c.once('progress', () => clock.advance(0)); // the endpoint answers after ringMs = 0 of its clock
    const media = parseAnswer(await answered(c), { codecs: ['PCMU'], ptimeMs: 20 });
    rtp.setRemote(media.address, media.port);
    const echoed: Buffer[] = [];
    rtp.on('packet', (p) => echoed.push(Buffer.from(p.payload)));
    const sent = await sendPattern(rtp, 5);
    await waitFor('the endpoint to receive 5 packets', 5000, (resolve) => {
      const t = setInterval(() => (cc.calls[0]?.packetsReceived ?? 0) >= 5 && (clearInterval(t), resolve(undefined)), 10);
    });
    clock.advance(199);
    await sleep(100);
    assert.equal(echoed.length, 0, 'nothing echoed before 200 ms');
    clock.advance(1);
    await waitFor('5 echoed packets', 5000, (resolve) => {
      const t = setInterval(() => echoed.length >= 5 && (clearInterval(t), resolve(undefined)), 10);
    });
    assert.deepEqual(echoed, sent);
    const done = c.hangup();
    await done;
  });

  it('the agent side hangs up: our call ends with ended(remote)', async () => {
    await cc.stop();
    const config = testSipConfig({ rtpPortMin: 41000, rtpPortMax: 41999 });
    cc = new DemoContactCenter({ config, log: nullLogger, hangupAfterMs: 100 });
    await cc.start();
    const c = call();
    await answered(c);
    const e = await ended(c);
    assert.deepEqual(e, { by: 'remote', reason: 'BYE' });
    assert.equal(ua.counters.liveCalls, 0);
  });

  it('no common codec: the demo endpoint rejects with 488', async () => {
    const c = ua.invite({
      requestUri: `sip:100@127.0.0.1:${cc.localAddress.port}`,
      fromUser: '555',
      sdpOffer: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n',
    });
    const f = await waitFor<{ s: number }>('failure', 5000, (resolve) => c.once('failed', (s) => resolve({ s })));
    assert.equal(f.s, 488);
  });
});
