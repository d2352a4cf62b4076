/**
 * Interop, RFC 3261 §22.4 as a UAS at the edge (sip.edge.authenticateUnknown): sipp as a contact
 * center SBC outside the allow list (loopback not allowed here) calls in; the edge challenges 401
 * (MD5 qop=auth, what this sipp computes), sipp answers with its own digest code (-au/-ap), the
 * call is answered, ACKed and hung up. A wrong password counts as a failure; at maxFailures the
 * source is banned and gets no answer at all.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { buildOffer } from '../../../controller/media/sdp';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { requirePeer, stopChild } from '../../lib/sip-peers';
import { startSipp, type SippProcess } from '../../lib/sip-sipp';
import { streamSipConfig } from '../../lib/sip-stream';

const DATA = join(__dirname, '..', '..', '..', '..', 'test', 'data', 'sip');

describe('interop: sipp authenticating to the SIP edge (digest, unknown source)', function () {
  this.timeout(60000);
  let sipp: SippProcess | undefined;
  let ua: SipUserAgent | undefined;

  before(function () {
    requirePeer(this, 'sipp');
  });

  afterEach(async () => {
    await ua?.stop();
    ua = undefined;
    if (sipp) {
      await stopChild(sipp.child);
      rmSync(sipp.dir, { recursive: true, force: true });
      sipp = undefined;
    }
  });

  async function run(password: string, maxFailures = 2): Promise<{ exit: number; output: string; answered: number; stats: SipUserAgent['edgeStats'] }> {
    const config = streamSipConfig('udp', undefined, {
      // Nothing on loopback is a configured peer here (the default contact center URI is on 127.0.0.1).
      contactCenterUri: 'sip:{called}@192.0.2.1:5080',
      edge: { allowLoopback: false, authenticateUnknown: { enabled: true, realm: 'branch7.example', algorithms: ['MD5'], users: [{ username: 'cc-sbc', password: 'Edge-s3cret' }], maxFailures } },
    });
    ua = new SipUserAgent({ config, log: nullLogger, timers: { t1Ms: 100, t2Ms: 400, t4Ms: 500 } });
    let answered = 0;
    ua.on('incoming-call', (call) => {
      answered++;
      call.answer(buildOffer({ address: '127.0.0.1', port: 40000, codecs: ['PCMU'], ptimeMs: 20 }));
    });
    await ua.start();
    const port = ua.localAddress.port;
    const s = await startSipp({ args: ['-sf', join(DATA, 'uac-edge-auth.xml'), '-s', '2001', '-au', 'cc-sbc', '-ap', password, '-m', '1', `127.0.0.1:${port}`], transport: 'udp', uac: true });
    sipp = s;
    const agent = ua;
    // A banned source gets no answer at all: sipp would retransmit until its 30 s timeout, so once
    // the ban is seen (and 2 s more pass without an answer) sipp is stopped.
    const banned = (async (): Promise<number> => {
      while ((agent.edgeStats?.bansTotal ?? 0) === 0) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 2000));
      await stopChild(s.child);
      return -1;
    })();
    const exit = await Promise.race([s.exit, banned]);
    return { exit, output: s.output(), answered, stats: agent.edgeStats };
  }

  it('the challenged INVITE is answered with the right credentials: call answered, BYE, sipp exits 0', async () => {
    const r = await run('Edge-s3cret');
    assert.equal(r.exit, 0, r.output);
    assert.equal(r.answered, 1);
  });

  it('a wrong password with maxFailures 1: the source is banned at once and its INVITE goes unanswered', async () => {
    const r = await run('wrong-one', 1);
    assert.match(r.output, /Authorization: Digest username="cc-sbc"/, 'sipp answered the challenge');
    assert.equal(r.answered, 0, 'no call reached the user agent');
    assert.ok((r.stats?.bansTotal ?? 0) >= 1, `the source was banned: ${JSON.stringify(r.stats)}`);
  });
});
