/**
 * Interop, RFC 3261 §22.2 with RFC 7616 MD5 qop=auth: sipp as a trunk that challenges our INVITE
 * (test/data/sip/trunk-uas-auth.xml) and checks our answer with its own digest code (verifyauth).
 * sipp exits 0 only if it accepted the credentials; with a wrong password it answers 403.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { requirePeer, stopChild } from '../../lib/sip-peers';
import { startSipp, type SippProcess } from '../../lib/sip-sipp';
import { placeCall, streamSipConfig } from '../../lib/sip-stream';

const DATA = join(__dirname, '..', '..', '..', '..', 'test', 'data', 'sip');

describe('interop: sipp trunk challenging our INVITE (RFC 3261 §22.2, RFC 7616)', function () {
  this.timeout(40000);
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

  async function run(password: string): Promise<{ result: Awaited<ReturnType<typeof placeCall>['result']>; exit: number; output: string }> {
    const s = await startSipp({ args: ['-sf', join(DATA, 'trunk-uas-auth.xml'), '-m', '1'], transport: 'udp' });
    sipp = s;
    ua = new SipUserAgent({ config: streamSipConfig('udp'), log: nullLogger, timers: { t1Ms: 100, t2Ms: 400, t4Ms: 500 }, credentials: (_d, realm) => (realm === 'trunk.test' ? { username: 'branch7', password } : undefined) });
    await ua.start();
    const call = placeCall(ua, `sip:100@127.0.0.1:${s.port}`);
    const result = await call.result;
    if (result.answered) await call.hangup();
    return { result, exit: await s.exit, output: s.output() };
  }

  it('401 answered with MD5 qop=auth credentials that sipp verifies; call answered, BYE, sipp exits 0', async () => {
    const r = await run('s3cret');
    assert.deepEqual(r.result, { answered: true }, r.output);
    assert.equal(r.exit, 0, r.output);
  });

  it('a wrong password: sipp refuses the credentials with 403, our call fails 403 and sipp counts the call failed', async () => {
    const r = await run('wrong');
    assert.equal(r.result.answered, false);
    assert.equal(r.result.answered === false ? r.result.status : 0, 403);
    assert.notEqual(r.exit, 0);
  });
});
