/**
 * The reverse: our network side (what the simulated card will run) against libpri 1.6 as the user
 * (CPE) side, Euro-ISDN E1 and NI-2 T1. D channel up, a call offered to libpri and answered, hang-up
 * both ways, a call placed by libpri to us. tshark must decode every frame of each run.
 */
import assert from 'node:assert/strict';
import { systemClock } from '../../../hw/base/clock';
import { nullLogger } from '../../../hw/base/logger';
import type { PstnCall, PstnRelease } from '../../../controller/pstn/types';
import { PriSpan } from '../../../controller/pstn/isdn/pri-span';
import { SWITCH_VARIANTS, type SwitchVariantName } from '../../../controller/pstn/isdn/switch-variant';
import { requirePeer } from '../../lib/dsp-peers';
import { hasLibpri, LibpriPeer } from '../../lib/isdn-libpri';
import { assertTsharkDecodesAll, hasTshark } from '../../lib/isdn-pcap';

function once<T extends unknown[]>(emitter: { once(event: string, fn: (...args: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: T) => resolve(args)));
}

const VARIANTS: [SwitchVariantName, 'euroisdn_e1' | 'ni2'][] = [
  ['etsi', 'euroisdn_e1'],
  ['ni2', 'ni2'],
];

for (const [variant, libpriSwitch] of VARIANTS) {
  describe(`ISDN PRI interop: our network side against libpri as the user (${variant})`, function () {
    this.timeout(30_000);
    let peer: LibpriPeer;
    let span: PriSpan;

    beforeEach(async function () {
      requirePeer(this, hasLibpri(), 'libpri-dev and gcc');
      peer = new LibpriPeer('cpe', libpriSwitch);
      span = new PriSpan({ span: 1, side: 'network', variant: SWITCH_VARIANTS[variant], clock: systemClock, log: nullLogger, sendFrame: (f) => peer.send(f) });
      peer.onFrame = (f) => span.receiveFrame(f);
      const up = once(span, 'dchannel');
      span.start();
      await peer.waitFor(/^dchan_up$/);
      await up;
    });

    afterEach(async function () {
      span?.stop();
      await peer?.close();
      if (this.currentTest?.state === 'passed' && hasTshark()) {
        assertTsharkDecodesAll(peer.frames.map((f) => ({ sent: f.from === 'us', frame: f.frame, atMs: f.atMs })), true, this.currentTest.title);
      }
    });

    it('offers a call to libpri, which answers; we clear it with cause 16', async () => {
      const call = span.placeCall({ called: '5551234', calling: '5559876' });
      const [, chan, called, calling] = await peer.waitFor(/^ring (\d+) (\S+) (\S+)/);
      assert.deepEqual([Number(chan), called, calling], [call.info.channel, '5551234', '5559876']);
      const answered = once(call, 'answered');
      peer.command('proceed');
      peer.command('alert');
      peer.command('answer');
      await answered;
      assert.equal(call.state, 'active');
      const at = peer.events.length;
      await call.hangup(16, 'normal');
      const [, cause] = await peer.waitFor(/^hangup(?:_req)? (\d+)$/, at);
      assert.equal(cause, '16');
      assert.ok(span.channelStates().every((c) => c.state === 'idle'));
    });

    it('libpri hangs up an answered call: we see cause 16 from the PSTN side', async () => {
      const call = span.placeCall({ called: '5551234', calling: '5559876' });
      await peer.waitFor(/^ring /);
      const answered = once(call, 'answered');
      peer.command('answer');
      await answered;
      const released = once<[PstnRelease]>(call, 'released');
      peer.command('hangup 16');
      const [rel] = await released;
      assert.deepEqual([rel.by, rel.q850], ['pstn', 16]);
    });

    it('takes a call placed by libpri and answers it', async () => {
      const offered = once<[PstnCall]>(span, 'incoming');
      peer.command('call 5 4401 2000 Bob');
      const [call] = await offered;
      assert.deepEqual([call.info.calledNumber, call.info.callerNumber, call.info.channel], ['4401', '2000', 5]);
      await call.answer();
      await peer.waitFor(/^answer 5$/);
      const released = once<[PstnRelease]>(call, 'released');
      peer.command('hangup 16');
      const [rel] = await released;
      assert.equal(rel.q850, 16);
    });
  });
}
