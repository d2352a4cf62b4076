/** tshark decodes the RTP and compound RTCP (SR/RR, SDES, BYE; RFC 3550 §6) our sessions emit, with no malformed-packet warning. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { nullLogger } from '../../../hw/base/logger';
import { RtpSession } from '../../../controller/media/rtp-session';
import { sleep } from '../../lib/sip-call-harness';
import { makeTempDir, requirePeer, startCapture, tshark } from '../../lib/sip-peers';

describe('tshark: our RTCP', function () {
  this.timeout(30000);
  let dir = '';
  before(function () {
    requirePeer(this, 'dumpcap');
    requirePeer(this, 'tshark');
  });
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('SR, RR with report blocks, SDES CNAME and BYE decode cleanly', async () => {
    dir = makeTempDir('rtcp-tshark');
    const open = (): Promise<RtpSession> => RtpSession.open({ bindAddress: '127.0.0.1', portMin: 46000, portMax: 46999, acceptPayloadTypes: [0], log: nullLogger, rtcpIntervalMs: 100 });
    const a = await open();
    const b = await open();
    const capture = await startCapture(dir, `udp and (port ${a.localPort} or port ${a.localPort + 1} or port ${b.localPort} or port ${b.localPort + 1})`);
    try {
      a.setRemote('127.0.0.1', b.localPort);
      b.setRemote('127.0.0.1', a.localPort);
      for (let i = 0; i < 25; i++) {
        a.send(0, Buffer.alloc(160, 0x7f), 160);
        await sleep(20);
      }
      await sleep(300);
      await a.close('tshark test');
      await b.close();
      await sleep(200);
    } finally {
      await capture.stop();
    }
    const decodeAs = ['-d', `udp.port==${a.localPort + 1},rtcp`, '-d', `udp.port==${b.localPort + 1},rtcp`, '-d', `udp.port==${b.localPort},rtp`];
    const pts = tshark(['-r', capture.file, ...decodeAs, '-Y', 'rtcp', '-T', 'fields', '-e', 'rtcp.pt']).split(/[\s,]+/).filter((x) => x !== '');
    for (const pt of ['200', '201', '202', '203']) assert.ok(pts.includes(pt), `RTCP packet type ${pt} decoded (got ${[...new Set(pts)].join(' ')})`);
    const blocks = tshark(['-r', capture.file, ...decodeAs, '-Y', 'rtcp.pt == 201 && rtcp.ssrc.identifier', '-T', 'fields', '-e', 'rtcp.ssrc.high_seq']).trim();
    assert.notEqual(blocks, '', 'b\'s RR carries a report block about a\'s stream');
    const malformed = tshark(['-r', capture.file, ...decodeAs, '-Y', '_ws.malformed || _ws.expert.severity >= "warning"']);
    assert.equal(malformed.trim(), '', 'tshark warnings on our packets');
  });
});
