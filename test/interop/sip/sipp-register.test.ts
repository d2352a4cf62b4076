/**
 * Interop, RFC 3261 §10.2 + §22: registration against a sipp registrar that challenges with
 * digest and checks our credentials with its own code; the binding is granted (Contact
 * expires=120), reported as registered, and removed with Expires: 0 when the trunk stops.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { parseConfig } from '../../../controller/config/load';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { SipTrunks, type TrunkState } from '../../../controller/sip/trunk/trunk-set';
import { requirePeer, stopChild } from '../../lib/sip-peers';
import { startSipp, type SippProcess } from '../../lib/sip-sipp';

const DATA = join(__dirname, '..', '..', '..', '..', 'test', 'data', 'sip');

describe('interop: REGISTER with a digest challenge against sipp (RFC 3261 §10.2, §22)', function () {
  this.timeout(40000);
  let sipp: SippProcess | undefined;
  let ua: SipUserAgent | undefined;

  before(function () {
    requirePeer(this, 'sipp');
  });

  after(async () => {
    await ua?.stop();
    if (sipp) {
      await stopChild(sipp.child);
      rmSync(sipp.dir, { recursive: true, force: true });
    }
  });

  it('401 answered, 200 → registered; stop() unregisters; sipp exits 0', async () => {
    sipp = await startSipp({ args: ['-sf', join(DATA, 'registrar-auth.xml'), '-m', '1'], transport: 'udp' });
    const config = parseConfig({
      sip: {
        bindPort: 0,
        trunks: [{ name: 'cc', uri: `sip:{called}@127.0.0.1:${sipp.port}`, optionsIntervalS: 0, auth: { username: 'branch7', password: 's3cret' }, register: { enabled: true, expiresS: 300 } }],
      },
    }).sip;
    ua = new SipUserAgent({ config, log: nullLogger });
    await ua.start();
    const trunks = new SipTrunks({ config, ua, log: nullLogger });
    const registered = new Promise<TrunkState>((resolve) => trunks.on('trunk-state', (s) => s.registered && resolve(s)));
    trunks.start();
    const s = await registered;
    assert.equal(s.name, 'cc');
    assert.equal(s.registration, 'registered');
    await trunks.stop();
    assert.equal(await sipp.exit, 0, sipp.output());
  });
});
