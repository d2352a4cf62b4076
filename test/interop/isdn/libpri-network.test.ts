/**
 * Our user side (what the appliance runs) against libpri 1.6 as the network side, Euro-ISDN E1:
 * D channel up, calls both ways, hang-up both ways, RESTART of a channel. Every run's frames go to a
 * LINUX_LAPD pcap that tshark must decode with no malformed packet.
 */
import assert from 'node:assert/strict';
import { systemClock } from '../../../hw/base/clock';
import { nullLogger } from '../../../hw/base/logger';
import type { PstnCall, PstnRelease } from '../../../controller/pstn/types';
import { decodeLapdFrame } from '../../../controller/pstn/isdn/lapd-frame';
import { decodeQ931, type Q931MessageType } from '../../../controller/pstn/isdn/q931-message';
import { PriSpan } from '../../../controller/pstn/isdn/pri-span';
import { SWITCH_VARIANTS } from '../../../controller/pstn/isdn/switch-variant';
import { requirePeer } from '../../lib/dsp-peers';
import { hasLibpri, LibpriPeer } from '../../lib/isdn-libpri';
import { assertTsharkDecodesAll, hasTshark } from '../../lib/isdn-pcap';

function once<T extends unknown[]>(emitter: { once(event: string, fn: (...args: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: T) => resolve(args)));
}

describe('ISDN PRI interop: our user side against libpri as the network (Euro-ISDN E1)', function () {
  this.timeout(30_000);
  let peer: LibpriPeer;
  let span: PriSpan;

  beforeEach(function () {
    requirePeer(this, hasLibpri(), 'libpri-dev and gcc');
    peer = new LibpriPeer('network', 'euroisdn_e1');
    // T203 shortened so that the link-loss test notices the loss sooner; everything else is Q.921's default.
    span = new PriSpan({ span: 1, side: 'user', variant: SWITCH_VARIANTS.etsi, clock: systemClock, log: nullLogger, sendFrame: (f) => peer.send(f), lapdTimers: { t203Ms: 1000 } });
    peer.onFrame = (f) => span.receiveFrame(f);
  });

  afterEach(async function () {
    span?.stop();
    await peer?.close();
    if (this.currentTest?.state === 'passed' && hasTshark()) {
      assertTsharkDecodesAll(peer.frames.map((f) => ({ sent: f.from === 'us', frame: f.frame, atMs: f.atMs })), false, this.currentTest.title);
    }
  });

  async function up(): Promise<void> {
    const ours = once(span, 'dchannel');
    span.start();
    await peer.waitFor(/^dchan_up$/);
    const [isUp] = await ours;
    assert.equal(isUp, true);
    assert.equal(span.lapd.state, 'multiple-frame-established');
  }

  async function incoming(): Promise<PstnCall> {
    const offered = once<[PstnCall]>(span, 'incoming');
    peer.command('call 3 5551234 5559876 Alice');
    const [call] = await offered;
    await peer.waitFor(/^proceeding 3$/);
    await peer.waitFor(/^ringing 3$/);
    return call;
  }

  it('brings the D channel up (libpri SABME, our UA; Q.921 §5.5)', async () => {
    await up();
    assert.equal(span.counters.badFrames, 0);
  });

  it('answers a call from libpri: SETUP → CALL PROCEEDING → ALERTING → CONNECT → CONNECT ACK, then libpri hangs up', async () => {
    await up();
    const call = await incoming();
    assert.deepEqual(
      { called: call.info.calledNumber, calling: call.info.callerNumber, name: call.info.callerName, channel: call.info.channel, trunk: call.info.trunk },
      { called: '5551234', calling: '5559876', name: 'Alice', channel: 3, trunk: 'span/1' },
    );
    const at = peer.events.length;
    await call.answer();
    await peer.waitFor(/^answer 3$/, at);
    assert.equal(call.state, 'active');
    const released = once<[PstnRelease]>(call, 'released');
    peer.command('hangup 16');
    const [rel] = await released;
    assert.deepEqual(rel, { by: 'pstn', q850: 16, reason: 'normal call clearing (Q.850 16)' });
    await peer.waitFor(/^hangup(_ack)? /, at);
    assert.deepEqual(span.channelStates().find((c) => c.channel === 3), { channel: 3, state: 'idle' });
  });

  it('hangs up an answered call from our side with cause 16 (DISCONNECT → RELEASE → RELEASE COMPLETE)', async () => {
    await up();
    const call = await incoming();
    await call.answer();
    await peer.waitFor(/^answer 3$/);
    const at = peer.events.length;
    await call.hangup(16, 'normal clearing');
    const [, cause] = await peer.waitFor(/^hangup(?:_req)? (\d+)$/, at);
    assert.equal(cause, '16');
    assert.equal(call.state, 'null');
    assert.ok(span.channelStates().every((c) => c.state === 'idle'));
  });

  it('rejects a ringing call with cause 17 (user busy) and libpri reports it', async () => {
    await up();
    const call = await incoming();
    await call.hangup(17, 'busy');
    const [, cause] = await peer.waitFor(/^hangup(?:_req)? (\d+)$/);
    assert.equal(cause, '17');
  });

  it('places a call to libpri: SETUP → proceeding/alerting/connect, then libpri clears it', async () => {
    await up();
    const call = span.placeCall({ called: '4401', calling: '2000' });
    const [, chan, called, calling] = await peer.waitFor(/^ring (\d+) (\S+) (\S+)/);
    assert.equal(called, '4401');
    assert.equal(calling, '2000');
    assert.equal(Number(chan), call.info.channel);
    const answered = once(call, 'answered');
    peer.command('proceed');
    peer.command('alert');
    peer.command('answer');
    await answered;
    assert.equal(call.state, 'active');
    const released = once<[PstnRelease]>(call, 'released');
    peer.command('hangup 16');
    const [rel] = await released;
    assert.equal(rel.q850, 16);
    assert.equal(rel.by, 'pstn');
  });

  it('our RESTART of a channel with a call on it: libpri clears the call and acknowledges (Q.931 §5.5.1)', async () => {
    await up();
    const call = await incoming();
    const acked = once<[number[] | 'all']>(span, 'restart-acknowledged');
    const at = peer.events.length;
    span.restart([3]);
    const [channels] = await acked;
    assert.deepEqual(channels, [3]);
    assert.equal(call.state, 'null');
    await peer.waitFor(/^restart 3$/, at);
    assert.deepEqual(span.channelStates().find((c) => c.channel === 3)?.state, 'idle');
  });

  it('RESTART of one channel from libpri clears the call on it and is acknowledged (Q.931 §5.5)', async () => {
    await up();
    const call = await incoming();
    const released = once<[PstnRelease]>(call, 'released');
    const restarted = once<[number[] | 'all']>(span, 'restarted');
    peer.command('reset 3');
    const [channels] = await restarted;
    assert.deepEqual(channels, [3]);
    await released;
    await peer.waitFor(/^restart_ack 3$/);
    assert.deepEqual(span.channelStates().find((c) => c.channel === 3)?.state, 'idle');
  });
});

describe('ISDN PRI interop: D-channel loss and recovery against libpri (Euro-ISDN E1)', function () {
  this.timeout(60_000);

  it('an answered call survives a D-channel loss (T309), the link comes back, STATUS ENQUIRY agrees, libpri then clears it', async function () {
    requirePeer(this, hasLibpri(), 'libpri-dev and gcc');
    const peer = new LibpriPeer('network', 'euroisdn_e1');
    const span = new PriSpan({ span: 1, side: 'user', variant: SWITCH_VARIANTS.etsi, clock: systemClock, log: nullLogger, sendFrame: (f) => peer.send(f), lapdTimers: { t203Ms: 1000 } });
    peer.onFrame = (f) => span.receiveFrame(f);
    try {
      const up = once(span, 'dchannel');
      span.start();
      await peer.waitFor(/^dchan_up$/);
      await up;
      const offered = once<[PstnCall]>(span, 'incoming');
      peer.command('call 4 5551234 5559876 Alice');
      const [call] = await offered;
      await call.answer();
      await peer.waitFor(/^answer 4$/);

      let cut = true;
      peer.drop = () => cut;
      const [wentDown] = await once<[boolean]>(span, 'dchannel');
      assert.equal(wentDown, false);
      assert.equal(call.state, 'active', 'an active call waits for T309');
      const back = once<[boolean]>(span, 'dchannel');
      const sentBefore = peer.frames.length;
      cut = false;
      const [cameBack] = await back;
      assert.equal(cameBack, true);
      const status = await waitForQ931(peer, sentBefore, 'STATUS');
      assert.ok(status, 'libpri answered our STATUS ENQUIRY with STATUS');
      assert.equal(call.state, 'active');

      const released = once<[PstnRelease]>(call, 'released');
      peer.command('hangup 16');
      const [rel] = await released;
      assert.deepEqual([rel.by, rel.q850], ['pstn', 16]);
      assert.ok(span.channelStates().every((c) => c.state === 'idle'));
    } finally {
      span.stop();
      await peer.close();
    }
  });
});

describe('ISDN PRI interop: our user side against libpri as the network (NI-2 T1)', function () {
  this.timeout(30_000);

  it('restarts all channels on link up (acknowledged by libpri), answers a call, libpri hangs up', async function () {
    requirePeer(this, hasLibpri(), 'libpri-dev and gcc');
    const peer = new LibpriPeer('network', 'ni2');
    const span = new PriSpan({ span: 1, side: 'user', variant: SWITCH_VARIANTS.ni2, clock: systemClock, log: nullLogger, sendFrame: (f) => peer.send(f) });
    peer.onFrame = (f) => span.receiveFrame(f);
    try {
      const acked = once<[number[] | 'all']>(span, 'restart-acknowledged');
      span.start();
      await peer.waitFor(/^dchan_up$/);
      assert.deepEqual(await acked, ['all']);
      const offered = once<[PstnCall]>(span, 'incoming');
      peer.command('call 7 2125551234 9735550000 -');
      const [call] = await offered;
      assert.deepEqual([call.info.channel, call.info.calledNumber, call.info.callerNumber], [7, '2125551234', '9735550000']);
      await call.answer();
      await peer.waitFor(/^answer 7$/);
      const released = once<[PstnRelease]>(call, 'released');
      peer.command('hangup 16');
      const [rel] = await released;
      assert.deepEqual([rel.by, rel.q850], ['pstn', 16]);
      if (hasTshark()) assertTsharkDecodesAll(peer.frames.map((f) => ({ sent: f.from === 'us', frame: f.frame, atMs: f.atMs })), false, 'NI-2 run');
    } finally {
      span.stop();
      await peer.close();
    }
  });
});

/** Resolves when libpri has sent a Q.931 message of `type` after frame index `from`. */
async function waitForQ931(peer: LibpriPeer, from: number, type: Q931MessageType): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const hit = peer.frames.slice(from).some((f) => {
      if (f.from !== 'peer') return false;
      const lapd = decodeLapdFrame(f.frame);
      return lapd.control.format === 'I' && decodeQ931(lapd.info).type === type;
    });
    if (hit) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
