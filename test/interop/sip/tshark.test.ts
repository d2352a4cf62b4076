/**
 * Wireshark's dissectors (tshark 4.0, test-peers.md §6) decode what we put on the wire: our SIP
 * requests and responses, our SDP and our RTP, with zero `_ws.malformed`. Loopback is captured
 * with dumpcap and a port filter naming only this test's ports.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { nullLogger } from '../../../hw/base/logger';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
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
});
