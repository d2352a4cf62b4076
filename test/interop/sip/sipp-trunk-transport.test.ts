/**
 * Interop, per-trunk transports (docs/sip.md "Transports"): the primary trunk is reached over TCP
 * (its URI says `;transport=tcp`, sipp `-t t1`), the secondary over UDP (the agent's sip.transport).
 * The primary answers 503; the same call then completes on the secondary over UDP. Each sipp sees
 * our requests on its own transport with a Via and Contact naming that transport.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { parseConfig } from '../../../controller/config/load';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { SipTrunks } from '../../../controller/sip/trunk/trunk-set';
import { freeUdpPort, requirePeer, stopChild } from '../../lib/sip-peers';
import { startSipp, type SippProcess } from '../../lib/sip-sipp';
import { placeCall } from '../../lib/sip-stream';

const DATA = join(__dirname, '..', '..', '..', '..', 'test', 'data', 'sip');

/** What sipp logged of the messages it received (its -trace_msg file). */
function received(run: SippProcess): string {
  const file = readdirSync(run.dir).find((f) => f.endsWith('_messages.log'));
  return file ? readFileSync(join(run.dir, file), 'utf8') : run.output();
}

describe('interop: a TCP primary trunk and a UDP secondary, failover across transports', function () {
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

  it('503 over TCP from the primary, 200/ACK/BYE over UDP from the secondary; both sipp runs exit 0', async () => {
    const primary = await startSipp({ args: ['-sf', join(DATA, 'trunk-uas-503.xml'), '-m', '1'], transport: 'tcp' });
    runs.push(primary);
    const secondaryPort = await freeUdpPort();
    const secondary = await startSipp({ args: ['-sf', join(DATA, 'trunk-uas-answer.xml'), '-key', 'contact', `sip:trunk@127.0.0.1:${secondaryPort}`, '-m', '1'], transport: 'udp', port: secondaryPort });
    runs.push(secondary);
    const config = parseConfig({
      sip: {
        bindPort: 0,
        transport: 'udp',
        trunks: [
          { name: 'primary', uri: `sip:{called}@127.0.0.1:${primary.port};transport=tcp`, optionsIntervalS: 0 },
          { name: 'secondary', uri: `sip:{called}@127.0.0.1:${secondary.port}`, optionsIntervalS: 0 },
        ],
      },
    }).sip;
    ua = new SipUserAgent({ config, log: nullLogger });
    await ua.start();
    assert.deepEqual(ua.protocols, ['UDP', 'TCP'], 'the TCP transport the primary trunk names is opened beside UDP');
    trunks = new SipTrunks({ config, ua, log: nullLogger });
    trunks.start();
    const call = placeCall(ua, `sip:5551000@127.0.0.1:${primary.port};transport=tcp`);
    assert.deepEqual(await call.result, { answered: true }, `${primary.output()}\n${secondary.output()}`);
    await call.hangup();
    assert.equal(await primary.exit, 0, primary.output());
    assert.equal(await secondary.exit, 0, secondary.output());
    const overTcp = received(primary);
    const overUdp = received(secondary);
    assert.match(overTcp, /^INVITE sip:5551000@127\.0\.0\.1:\d+;transport=tcp SIP\/2\.0/m);
    assert.match(overTcp, /^Via: SIP\/2\.0\/TCP /m);
    assert.match(overTcp, /^Contact: <sip:[^>]*;transport=tcp>/m);
    assert.match(overUdp, /^INVITE sip:5551000@127\.0\.0\.1:\d+ SIP\/2\.0/m);
    assert.match(overUdp, /^Via: SIP\/2\.0\/UDP /m);
    assert.doesNotMatch(overUdp, /^Via: SIP\/2\.0\/TCP /m, 'nothing for the UDP trunk went over TCP');
    assert.match(overUdp, /^Contact: <sip:[^;>]*>/m);
  });
});
