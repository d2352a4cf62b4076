/**
 * Wireshark's dissectors (tshark 4.0, test-peers.md §6) decode what we put on the wire: our SIP
 * requests and responses, our SDP and our RTP, with zero `_ws.malformed`. Loopback is captured
 * with dumpcap and a port filter naming only this test's ports.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { nullLogger } from '../../../hw/base/logger';
import { SipUserAgent, type IncomingCall } from '../../../controller/sip/api/user-agent';
import { DemoContactCenter } from '../../../controller/sip/demo-endpoint';
import { buildOffer, parseAnswer } from '../../../controller/media/sdp';
import type { RtpSession } from '../../../controller/media/rtp-session';
import { answered, openTestRtp, sendPattern, sleep, testSipConfig, waitFor } from '../../lib/sip-call-harness';
import { makeTempDir, requirePeer, startCapture, startSippUas, stopChild, tshark, type Capture } from '../../lib/sip-peers';

function fields(file: string, filter: string, names: string[]): string[][] {
  const out = tshark(['-r', file, '-Y', filter, '-T', 'fields', ...names.flatMap((n) => ['-e', n])]);
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t'));
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

describe('interop: tshark decodes our SIP, SDP and RTP', function () {
  this.timeout(60_000);
  let dir: string;
  let ua: SipUserAgent;
  let rtp: RtpSession;
  let capture: Capture | undefined;

  before(function () {
    requirePeer(this, 'dumpcap');
    requirePeer(this, 'tshark');
  });

  beforeEach(async () => {
    dir = makeTempDir('tshark');
    ua = new SipUserAgent({ config: testSipConfig(), log: nullLogger });
    await ua.start();
    rtp = await openTestRtp();
  });

  afterEach(async () => {
    await capture?.stop();
    capture = undefined;
    await rtp.close();
    await ua.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function assertDecoded(file: string, ourSsrc: number, packets: number): void {
    assert.deepEqual(fields(file, '_ws.malformed', ['frame.number']), [], 'no malformed packets');
    assert.deepEqual(fields(file, '_ws.expert.severity >= 6291456', ['frame.number', '_ws.expert.message']), [], 'no expert warnings or errors');
    const streams = tshark(['-r', file, '-q', '-z', 'rtp,streams']);
    const ours = streams.split('\n').find((l) => l.toLowerCase().includes(hex32(ourSsrc)));
    assert.ok(ours, `our SSRC ${hex32(ourSsrc)} in:\n${streams}`);
    assert.match(ours, /g711U/);
    assert.match(ours, new RegExp(`\\s${packets}\\s+0 \\(0\\.0%\\)`), `${packets} packets, 0 lost: ${ours}`);
    const invite = fields(file, 'sip.Method == "INVITE"', ['sip.from.user', 'sip.from.display.info', 'sdp.media', 'sip.Max-Forwards', 'sip.User-Agent']);
    assert.ok(invite.length >= 1);
    const [fromUser, display, sdpMedia, maxFwd, userAgent] = invite[0] ?? [];
    assert.equal(fromUser, '5551234567');
    assert.match(display ?? '', /Capture Caller/);
    assert.equal(sdpMedia, 'audio 0 RTP/AVP 0 8 101'.replace('0 R', `${rtp.localPort} R`));
    assert.equal(maxFwd, '70');
    assert.equal(userAgent, 'tonewall');
  }

  async function talk(call: ReturnType<SipUserAgent['invite']>, count: number): Promise<void> {
    const media = parseAnswer(await answered(call), { codecs: ['PCMU', 'PCMA'], ptimeMs: 20 });
    rtp.setRemote(media.address, media.port);
    let echoed = 0;
    rtp.on('packet', () => echoed++);
    await sendPattern(rtp, count);
    await waitFor('the echo', 5000, (resolve) => {
      const t = setInterval(() => echoed >= count && (clearInterval(t), resolve(undefined)), 10);
    });
    await call.hangup();
  }

  function offer(): string {
    return buildOffer({ address: '127.0.0.1', port: rtp.localPort, codecs: ['PCMU', 'PCMA'], ptimeMs: 20 });
  }

  it('a call to sipp (our INVITE, ACK, BYE, RTP): every frame decodes cleanly', async function () {
    requirePeer(this, 'sipp');
    const sipp = await startSippUas({ scenario: { builtin: 'uas' }, rtpEcho: true });
    try {
      capture = await startCapture(dir, `udp and (port ${sipp.sipPort} or port ${sipp.mediaPort} or port ${rtp.localPort} or port ${ua.localAddress.port})`);
      const call = ua.invite({ requestUri: `sip:service@127.0.0.1:${sipp.sipPort}`, fromUser: '5551234567', fromDisplayName: 'Capture Caller', sdpOffer: offer() });
      await talk(call, 30);
      assert.equal(await sipp.exit, 0);
      await sleep(200);
      await capture.stop();
      const methods = fields(capture.file, 'sip', ['sip.Method', 'sip.Status-Code']).map((r) => r.filter((x) => x !== '').join(''));
      for (const m of ['INVITE', '180', '200', 'ACK', 'BYE']) assert.ok(methods.includes(m), `${m} in ${methods.join(',')}`);
      assertDecoded(capture.file, rtp.ssrc, 30);
    } finally {
      await stopChild(sipp.child);
      fs.rmSync(sipp.dir, { recursive: true, force: true });
    }
  });

  it('a call to our demo endpoint (our requests and our responses, both SDPs, RTP both ways): every frame decodes cleanly', async () => {
    const config = testSipConfig({ rtpPortMin: 44000, rtpPortMax: 44999 });
    const cc = new DemoContactCenter({ config, log: nullLogger, echoDelayMs: 0 });
    await cc.start();
    try {
      capture = await startCapture(dir, `udp and (port ${cc.localAddress.port} or port ${ua.localAddress.port} or portrange 44000-44999 or port ${rtp.localPort})`);
      const call = ua.invite({ requestUri: `sip:100@127.0.0.1:${cc.localAddress.port}`, fromUser: '5551234567', fromDisplayName: 'Capture Caller', sdpOffer: offer() });
      await talk(call, 30);
      await sleep(200);
      await capture.stop();
      const seen = fields(capture.file, 'sip', ['sip.Method', 'sip.Status-Code', 'sip.CSeq.method']).map((r) => `${r[0] || r[1]}/${r[2]}`);
      for (const m of ['INVITE/INVITE', '100/INVITE', '180/INVITE', '200/INVITE', 'ACK/ACK', 'BYE/BYE', '200/BYE']) assert.ok(seen.includes(m), `${m} in ${seen.join(',')}`);
      assertDecoded(capture.file, rtp.ssrc, 30);
      const answerMedia = fields(capture.file, 'sip.Status-Code == 200 && sdp', ['sdp.media']);
      assert.match(answerMedia[0]?.[0] ?? '', /^audio 44\d{3} RTP\/AVP 0 101$/);
    } finally {
      await cc.stop();
    }
  });

  it('dialog features between two of our user agents (PRACK, INFO both ways, re-INVITE, UPDATE, session timer, BYE with Reason): every frame decodes cleanly', async () => {
    const callee = new SipUserAgent({ config: testSipConfig(), log: nullLogger });
    await callee.start();
    try {
      capture = await startCapture(dir, `udp and (port ${callee.localAddress.port} or port ${ua.localAddress.port})`);
      const answer = offer().replace('RTP/AVP 0 8 101', 'RTP/AVP 0 101');
      const infosAtCallee: string[] = [];
      let calleeCall: IncomingCall | undefined;
      callee.on('incoming-call', (c) => {
        calleeCall = c;
        c.onInfo((m) => {
          infosAtCallee.push(m.body.toString());
          return { status: 200, contentType: 'application/json', body: Buffer.from('{"ok":true}') };
        });
        c.onOffer(() => answer);
        c.ring();
        setTimeout(() => c.answer(answer), 100); // after the PRACK of the reliable 180
      });
      const call = ua.invite({
        requestUri: `sip:100@127.0.0.1:${callee.localAddress.port}`,
        fromUser: '5551234567',
        fromDisplayName: 'Capture Caller',
        headers: { Require: '100rel' },
        sdpOffer: offer(),
      });
      const infosAtCaller: string[] = [];
      call.onInfo((m) => {
        infosAtCaller.push(m.body.toString());
        return { status: 200 };
      });
      call.onOffer(() => offer());
      await answered(call);
      await sleep(50);
      assert.equal(await call.sendInfo('application/json', Buffer.from('{"field":"pan","digits":4}')), 200);
      assert.equal(await calleeCall?.sendInfo('application/json', Buffer.from('{"method":"pay.status"}')), 200);
      assert.equal((await call.modify('INVITE', offer().replace('a=sendrecv', 'a=sendonly'))).status, 200);
      assert.equal((await call.modify('UPDATE', undefined)).status, 200);
      await sleep(50);
      await call.hangup({ cause: 16, text: 'Normal call clearing' });
      await sleep(200);
      await capture.stop();
      assert.deepEqual(infosAtCallee, ['{"field":"pan","digits":4}']);
      assert.deepEqual(infosAtCaller, ['{"method":"pay.status"}']);
      const seen = fields(capture.file, 'sip', ['sip.Method', 'sip.Status-Code', 'sip.CSeq.method']).map((r) => `${r[0] || r[1]}/${r[2]}`);
      for (const m of ['180/INVITE', 'PRACK/PRACK', '200/PRACK', 'INFO/INFO', '200/INFO', 'UPDATE/UPDATE', '200/UPDATE', 'BYE/BYE', '200/BYE']) assert.ok(seen.includes(m), `${m} in ${seen.join(',')}`);
      assert.ok(seen.filter((m) => m === 'INVITE/INVITE').length >= 2, 'initial INVITE and re-INVITE');
      assert.deepEqual(fields(capture.file, '_ws.malformed', ['frame.number']), [], 'no malformed packets');
      assert.deepEqual(fields(capture.file, '_ws.expert.severity >= 6291456', ['frame.number', '_ws.expert.message']), [], 'no expert warnings or errors');
      const reasons = fields(capture.file, 'sip.Method == "BYE"', ['sip.Reason']);
      assert.match(reasons[0]?.[0] ?? '', /Q\.850;cause=16/);
    } finally {
      await callee.stop();
    }
  });
});
