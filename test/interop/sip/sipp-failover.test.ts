/**
 * Interop, RFC 3263 §4.3 failover: two sipp trunks; the primary answers 503 (and gets its ACK),
 * the same call goes to the secondary, which answers and takes our BYE. Both sipp runs exit 0.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { parseConfig } from '../../../controller/config/load';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { SipTrunks } from '../../../controller/sip/trunk/trunk-set';
import { freeUdpPort, requirePeer, stopChild } from '../../lib/sip-peers';
import { startSipp, type SippProcess } from '../../lib/sip-sipp';
import { placeCall } from '../../lib/sip-stream';

const DATA = join(__dirname, '..', '..', '..', '..', 'test', 'data', 'sip');

describe('interop: sipp trunks, 503 on the primary → the call completes on the secondary (RFC 3263 §4.3)', function () {
  this.timeout(40000);
  const runs: SippProcess[] = [];
  let ua: SipUserAgent | undefined;
  let trunks: SipTrunks | undefined;

  before(function () {
    requirePeer(this, 'sipp');
  });

  after(async () => {
    await trunks?.stop();
    await ua?.stop();
    for (const r of runs) {
      await stopChild(r.child);
      rmSync(r.dir, { recursive: true, force: true });
    }
  });

  it('primary 503 + ACK, secondary 200/ACK/BYE; the primary is reported with its error', async () => {
    const primary = await startSipp({ args: ['-sf', join(DATA, 'trunk-uas-503.xml'), '-m', '1'], transport: 'udp' });
    runs.push(primary);
    const secondaryPort = await freeUdpPort();
    const secondary = await startSipp({ args: ['-sf', join(DATA, 'trunk-uas-answer.xml'), '-key', 'contact', `sip:trunk@127.0.0.1:${secondaryPort}`, '-m', '1'], transport: 'udp', port: secondaryPort });
    runs.push(secondary);
    const config = parseConfig({
      sip: {
        bindPort: 0,
        trunks: [
          { name: 'primary', uri: `sip:{called}@127.0.0.1:${primary.port}`, optionsIntervalS: 0 },
          { name: 'secondary', uri: `sip:{called}@127.0.0.1:${secondary.port}`, optionsIntervalS: 0 },
        ],
      },
    }).sip;
    ua = new SipUserAgent({ config, log: nullLogger });
    await ua.start();
    trunks = new SipTrunks({ config, ua, log: nullLogger });
    trunks.start();
    const call = placeCall(ua, `sip:5551000@127.0.0.1:${primary.port}`);
    assert.deepEqual(await call.result, { answered: true }, `${primary.output()}\n${secondary.output()}`);
    await call.hangup();
    assert.equal(await primary.exit, 0, primary.output());
    assert.equal(await secondary.exit, 0, secondary.output());
    const p = trunks.trunkStates().find((s) => s.name === 'primary');
    assert.match(p?.lastError ?? '', /^INVITE 503 Service Unavailable/);
  });
});
