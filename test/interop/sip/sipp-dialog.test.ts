/**
 * Interop with sipp on dialog features (test-peers.md §1): scenarios in test/data/sip. sipp's exit
 * code is its verdict on our side (every expected message arrived, every `check_it` regexp on our
 * headers and bodies matched). Our SipUserAgent runs on UDP 127.0.0.1 with its real transport.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { SipUserAgent, type IncomingCall } from '../../../controller/sip/api/user-agent';
import { answerOffer, buildOffer } from '../../../controller/media/sdp';
import type { RtpSession } from '../../../controller/media/rtp-session';
import type { SessionTimerPolicy } from '../../../controller/sip/core/dialogs/session-timer';
import { answered, ended, failed, openTestRtp, startSippUac, testSipConfig, waitFor } from '../../lib/sip-call-harness';
import { requirePeer, startSippUas, stopChild, type SippRun } from '../../lib/sip-peers';

const DATA = path.resolve(__dirname, '../../../../test/data/sip');

describe('interop: SIP dialogs with sipp (RFC 6086, 3264 hold, 4028, 3261 §9.1, 3326)', function () {
  this.timeout(40_000);
  let ua: SipUserAgent | undefined;
  let rtp: RtpSession;
  let sipp: SippRun | undefined;

  before(function () {
    requirePeer(this, 'sipp');
  });

  beforeEach(async () => {
    rtp = await openTestRtp();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && sipp) this.currentTest.title += `\n${sipp.output()}`;
    await rtp.close();
    await ua?.stop();
    ua = undefined;
    if (sipp) {
      await stopChild(sipp.child);
      fs.rmSync(sipp.dir, { recursive: true, force: true });
    }
    sipp = undefined;
  });

  async function startUa(sessionTimer?: SessionTimerPolicy): Promise<SipUserAgent> {
    const u = new SipUserAgent({ config: testSipConfig(), log: nullLogger, ...(sessionTimer ? { sessionTimer } : {}) });
    await u.start();
    ua = u;
    return u;
  }

  function offer(): string {
    return buildOffer({ address: '127.0.0.1', port: rtp.localPort, codecs: ['PCMU', 'PCMA'], ptimeMs: 20 });
  }

  /** The application's answer to a new offer: our media, direction mirrored (RFC 3264 §6.1). */
  function answerMirroringDirection(o: string): string {
    const sdp = answerOffer(o, { address: '127.0.0.1', port: rtp.localPort, codecs: ['PCMU', 'PCMA'], ptimeMs: 20 }).sdp;
    const dir = /a=sendonly/.test(o) ? 'recvonly' : /a=inactive/.test(o) ? 'inactive' : /a=recvonly/.test(o) ? 'sendonly' : 'sendrecv';
    return sdp.replace(/a=sendrecv/, `a=${dir}`);
  }

  function callSipp(u: SipUserAgent, run: SippRun): ReturnType<SipUserAgent['invite']> {
    return u.invite({ requestUri: `sip:service@127.0.0.1:${run.sipPort}`, fromUser: '5551234567', headers: { 'X-Tonewall-Call-Id': 'tw-dialog-1' }, sdpOffer: offer() });
  }

  it('RFC 6086 INFO both ways: sipp\'s INFO reaches our handler (JSON 200 back), our INFO reaches sipp, sipp hangs up', async () => {
    const u = await startUa();
    sipp = await startSippUas({ scenario: { file: path.join(DATA, 'uas-info.xml') } });
    const call = callSipp(u, sipp);
    const received: string[] = [];
    let infoStatus: Promise<number> | undefined;
    call.onInfo((m) => {
      received.push(`${m.contentType} ${m.body.toString().trim()}`);
      // Ours goes after our 200 to theirs (the scenario expects that order).
      setImmediate(() => {
        infoStatus = call.sendInfo('application/json', Buffer.from('{"field":"pan","digits":16,"complete":true}'));
      });
      return { status: 200, contentType: 'application/json', body: Buffer.from('{"accepted":true}') };
    });
    await answered(call);
    assert.deepEqual(await ended(call, 15_000), { by: 'remote', reason: 'BYE' });
    assert.deepEqual(received, ['application/json {"method":"pay.start","fields":"pan,expiry,cvv"}']);
    assert.equal(await infoStatus, 200);
    assert.equal(await sipp.exit, 0);
  });

  it('RFC 3264 §8.4 re-INVITE hold then resume from sipp: our 200s answer recvonly then sendrecv; our BYE carries Reason (RFC 3326)', async () => {
    const u = await startUa();
    sipp = await startSippUas({ scenario: { file: path.join(DATA, 'uas-reinvite-hold.xml') } });
    const call = callSipp(u, sipp);
    call.onOffer(answerMirroringDirection);
    const changes: string[] = [];
    await answered(call);
    await waitFor('hold and resume', 10_000, (resolve) =>
      call.on('remote-offer', (o) => {
        changes.push(/a=sendonly/.test(o) ? 'hold' : 'resume');
        if (changes.length === 2) resolve(undefined);
      }),
    );
    await new Promise((r) => setTimeout(r, 100)); // the ACK for the resume
    await call.hangup({ cause: 16, text: 'caller hung up' });
    assert.deepEqual(changes, ['hold', 'resume']);
    assert.equal(await sipp.exit, 0);
  });

  it('RFC 4028 session refresh: we refresh by UPDATE twice as refresher=uac, answer sipp\'s UPDATE refresh with Session-Expires and Require: timer', async () => {
    const u = await startUa({ sessionExpiresS: 4, minSeS: 2 });
    sipp = await startSippUas({ scenario: { file: path.join(DATA, 'uas-session-refresh.xml') } });
    const call = callSipp(u, sipp);
    await answered(call);
    assert.deepEqual(call.dialogSession?.sessionTimer, { intervalS: 4, refresher: 'local' });
    assert.deepEqual(await ended(call, 20_000), { by: 'remote', reason: 'BYE' });
    assert.equal(await sipp.exit, 0);
  });

  it('RFC 3261 §9.1 CANCEL crossing the 200: CANCEL with Reason, then ACK and BYE for the late 200; the call fails 487', async () => {
    const u = await startUa();
    sipp = await startSippUas({ scenario: { file: path.join(DATA, 'uas-cancel-race.xml') } });
    const call = callSipp(u, sipp);
    call.once('progress', () => call.cancel({ cause: 16, text: 'caller hung up' }));
    const f = await failed(call);
    assert.equal(f.status, 487);
    assert.equal(await sipp.exit, 0);
  });

  it('sipp calls us: 180/200 with the session timer (RFC 4028 §9), INFO answered by our handler, BYE from sipp with Reason ends the call', async () => {
    const u = await startUa();
    const calls: IncomingCall[] = [];
    const endedWith: unknown[] = [];
    u.on('incoming-call', (c) => {
      calls.push(c);
      c.onInfo(() => ({ status: 200, contentType: 'application/json', body: Buffer.from('{"state":"idle"}') }));
      c.on('ended', (...args) => endedWith.push(args));
      c.ring();
      c.answer(answerMirroringDirection(c.sdpOffer));
    });
    sipp = await startSippUac({ file: path.join(DATA, 'uac-call-info.xml'), target: { address: '127.0.0.1', port: u.localAddress.port } });
    assert.equal(await sipp.exit, 0);
    assert.equal(calls.length, 1);
    assert.deepEqual(endedWith, [['remote', 'BYE', 16]]);
  });
});
