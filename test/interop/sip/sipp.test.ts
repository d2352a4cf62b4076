/**
 * Interop with sipp (sip-tester 3.6), a SIP peer nobody here wrote (test-peers.md §1). Our
 * SipUserAgent places real calls over UDP on 127.0.0.1; sipp's exit code is its verdict on our side
 * of the dialog (0 = every message it expected arrived well-formed and in order).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { buildOffer, parseAnswer } from '../../../controller/media/sdp';
import type { RtpSession } from '../../../controller/media/rtp-session';
import { answered, ended, failed, openTestRtp, sendPattern, sleep, testSipConfig, waitFor } from '../../lib/sip-call-harness';
import { requirePeer, startSippUas, stopChild, type SippRun } from '../../lib/sip-peers';

const DATA = path.resolve(__dirname, '../../../../test/data/sip');

describe('interop: our user agent calls sipp (RFC 3261 UAC ↔ sipp UAS)', function () {
  this.timeout(40_000);
  let ua: SipUserAgent;
  let rtp: RtpSession;
  let sipp: SippRun | undefined;

  before(function () {
    requirePeer(this, 'sipp');
  });

  beforeEach(async () => {
    ua = new SipUserAgent({ config: testSipConfig(), log: nullLogger });
    await ua.start();
    rtp = await openTestRtp();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && sipp) this.currentTest.title += `\n${sipp.output()}`;
    await rtp.close();
    await ua.stop();
    if (sipp) {
      await stopChild(sipp.child);
      fs.rmSync(sipp.dir, { recursive: true, force: true });
    }
    sipp = undefined;
  });

  function invite(run: SippRun): ReturnType<SipUserAgent['invite']> {
    return ua.invite({
      requestUri: `sip:service@127.0.0.1:${run.sipPort}`,
      fromUser: '5551234567',
      fromDisplayName: 'Interop Caller',
      headers: { 'X-Tonewall-Call-Id': 'tw-interop-1' },
      sdpOffer: buildOffer({ address: '127.0.0.1', port: rtp.localPort, codecs: ['PCMU', 'PCMA'], ptimeMs: 20 }),
    });
  }

  it('built-in uas with -rtp_echo: 180/200/ACK, our RTP comes back byte for byte, BYE from our side, sipp exits 0', async () => {
    sipp = await startSippUas({ scenario: { builtin: 'uas' }, rtpEcho: true });
    const call = invite(sipp);
    const progress: number[] = [];
    call.on('progress', (s) => progress.push(s));
    const media = parseAnswer(await answered(call), { codecs: ['PCMU', 'PCMA'], ptimeMs: 20 });
    assert.ok(progress.includes(180), `progress ${progress.join(',')}`);
    assert.deepEqual({ codec: media.codec, port: media.port }, { codec: 'PCMU', port: sipp.mediaPort });
    rtp.setRemote(media.address, media.port);
    const echoed: Buffer[] = [];
    rtp.on('packet', (p) => echoed.push(Buffer.from(p.payload)));
    const sent = await sendPattern(rtp, 50);
    await waitFor('50 echoed packets', 5000, (resolve) => {
      const t = setInterval(() => echoed.length >= 50 && (clearInterval(t), resolve(undefined)), 10);
    });
    assert.deepEqual(echoed, sent);
    assert.equal(rtp.counters.lost, 0);
    await call.hangup();
    assert.equal(await sipp.exit, 0);
  });

  it('custom UAS scenario (test/data/sip/uas-hangs-up.xml): sipp sends the BYE, our call ends with ended(remote) and sipp exits 0', async () => {
    sipp = await startSippUas({ scenario: { file: path.join(DATA, 'uas-hangs-up.xml') }, rtpEcho: true });
    const call = invite(sipp);
    const media = parseAnswer(await answered(call), { codecs: ['PCMU'], ptimeMs: 20 });
    rtp.setRemote(media.address, media.port);
    let echoes = 0;
    rtp.on('packet', () => echoes++);
    const end = ended(call, 15_000);
    await sendPattern(rtp, 10);
    assert.deepEqual(await end, { by: 'remote', reason: 'BYE' });
    assert.ok(echoes > 0, 'RTP echoed during the call');
    assert.equal(await sipp.exit, 0);
    assert.equal(ua.counters.liveCalls, 0);
  });

  it('custom UAS scenario (test/data/sip/uas-busy.xml): 486 → failed(486), our transaction ACKs it, sipp exits 0', async () => {
    sipp = await startSippUas({ scenario: { file: path.join(DATA, 'uas-busy.xml') } });
    const call = invite(sipp);
    const f = await failed(call);
    assert.deepEqual(f, { status: 486, reason: 'Busy Here' });
    assert.equal(await sipp.exit, 0);
    await sleep(10);
  });
});
