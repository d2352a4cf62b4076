/**
 * Interop with sipp for SIP → PSTN calls (RFC 3261 UAS side, RFC 3398 §8.2.6.1, RFC 3326): sipp
 * calls our SipUserAgent, the real CallManager routes the number (sip.routing) to a scripted PSTN
 * dialer, answers the offer with our SDP (controller/media/sdp.ts), and maps the PSTN outcome to SIP.
 * sipp's exit code checks our side; the test checks the PSTN side.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import type { TelephonyCard } from '../../../hw/card/types';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { CallManager } from '../../../controller/call/call-manager';
import type { CallEventType } from '../../../controller/call/call';
import type { MediaLeg } from '../../../controller/call/ports';
import { answerOffer } from '../../../controller/media/sdp';
import type { PstnTrunkEvents } from '../../../controller/pstn/types';
import { FakeCard, FakeDialer, FakeLeg } from '../../lib/call-fakes';
import { startSippUac, testSipConfig, waitFor } from '../../lib/sip-call-harness';
import { requirePeer, stopChild, type SippRun } from '../../lib/sip-peers';

const DATA = path.resolve(__dirname, '../../../../test/data/sip');

/** Media for the call: answers the SIP offer with PCMA/PCMU from our SDP module. */
class SdpOnlyMedia implements MediaLeg {
  readonly sdpOffer = '';
  closed = 0;
  applyAnswer(): { codec: string } {
    return { codec: 'PCMU' };
  }
  answerOffer(offer: string): { sdp: string; codec: string } {
    const { sdp, media } = answerOffer(offer, { address: '127.0.0.1', port: 40000, codecs: ['PCMA', 'PCMU'], ptimeMs: 20 });
    return { sdp, codec: media.codec };
  }
  fromCard(): void {}
  toCard(): Buffer {
    return Buffer.alloc(80, 0xd5);
  }
  stats() {
    return { packetsSent: 0, packetsReceived: 0 };
  }
  close(): void {
    this.closed++;
  }
}

describe('interop: sipp calls the PSTN through our call manager (SIP → PSTN)', function () {
  this.timeout(40_000);
  let ua: SipUserAgent;
  let mgr: CallManager;
  let dialer: FakeDialer;
  let events: CallEventType[];
  let sipp: SippRun | undefined;

  before(function () {
    requirePeer(this, 'sipp');
  });

  beforeEach(async () => {
    ua = new SipUserAgent({ config: testSipConfig(), log: nullLogger });
    await ua.start();
    dialer = new FakeDialer();
    events = [];
    mgr = new CallManager({
      card: new FakeCard() as unknown as TelephonyCard,
      trunk: new TypedEmitter<PstnTrunkEvents>(),
      sip: { invite: () => new FakeLeg() },
      media: { open: () => Promise.resolve(new SdpOnlyMedia()) },
      recorder: { changed: (_r, e) => events.push(e) },
      log: nullLogger,
      contactCenterUri: 'sip:{called}@127.0.0.1',
      callIdHeader: 'X-Tonewall-Call-Id',
      dialer,
      routing: [{ prefix: '+44', strip: 3, prepend: '0', trunk: 'span/1' }],
    });
    ua.on('incoming-call', (c) => mgr.acceptSip(c));
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && sipp) this.currentTest.title += `\n${sipp.output()}`;
    await mgr.stop('test over', 500);
    await ua.stop();
    if (sipp) {
      await stopChild(sipp.child);
      fs.rmSync(sipp.dir, { recursive: true, force: true });
    }
    sipp = undefined;
  });

  function placed(): Promise<NonNullable<FakeDialer['placed'][number]>> {
    return waitFor('the PSTN call to be placed', 10_000, (resolve) => {
      const t = setInterval(() => {
        const p = dialer.placed[0];
        if (p) {
          clearInterval(t);
          resolve(p);
        }
      }, 5);
    });
  }

  it('answered: 180 when the PSTN alerts, 200 with our PCMA answer when it answers; BYE from sipp releases the PSTN leg with 16', async () => {
    sipp = await startSippUac({ file: path.join(DATA, 'uac-pstn-answer.xml'), target: { address: '127.0.0.1', port: ua.localAddress.port }, service: '+442071234567' });
    const p = await placed();
    assert.deepEqual(p.request, { calledNumber: '02071234567', callingNumber: '5551000', callingName: 'CC Agent', trunk: 'span/1' });
    p.call.emit('progress', 'alerting', false);
    setTimeout(() => p.call.emit('answered'), 100);
    assert.equal(await sipp.exit, 0);
    assert.deepEqual(p.call.hangups, [{ q850: 16, reason: 'BYE' }]);
    assert.deepEqual(events, ['call.started', 'call.answered', 'call.ended']);
  });

  it('busy: the PSTN releases with 17 → our 486 carries Reason: Q.850;cause=17', async () => {
    sipp = await startSippUac({ file: path.join(DATA, 'uac-pstn-busy.xml'), target: { address: '127.0.0.1', port: ua.localAddress.port }, service: '+441234' });
    const p = await placed();
    p.call.release({ by: 'pstn', q850: 17, reason: 'user busy' });
    assert.equal(await sipp.exit, 0);
    assert.deepEqual(events, ['call.started', 'call.ended']);
  });

  it('CANCEL while the PSTN rings: 200 + 487 to sipp, the PSTN leg released with the Reason cause 19', async () => {
    sipp = await startSippUac({ file: path.join(DATA, 'uac-pstn-cancel.xml'), target: { address: '127.0.0.1', port: ua.localAddress.port }, service: '+449999' });
    const p = await placed();
    p.call.emit('progress', 'alerting', false);
    assert.equal(await sipp.exit, 0);
    assert.deepEqual(p.call.hangups, [{ q850: 19, reason: 'CANCEL' }]);
  });
});
