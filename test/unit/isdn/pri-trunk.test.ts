import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { CardEvents, CardInfo, TelephonyCard } from '../../../hw/card/types';
import { PriSpan } from '../../../controller/pstn/isdn/pri-span';
import { PriTrunk, tdmChannelOf, type PriCardView } from '../../../controller/pstn/isdn/pri-trunk';
import { SWITCH_VARIANTS } from '../../../controller/pstn/isdn/switch-variant';
import type { PstnCall } from '../../../controller/pstn/types';
import { ManualClock } from '../../lib/manual-clock';

const INFO: CardInfo = {
  model: 'sim-e1',
  firmwareVersion: '1',
  serial: 's',
  protocolVersion: 1,
  law: 'alaw',
  ports: [],
  spans: [{ span: 2, type: 'E1', firstChannel: 101, channels: 30 }],
};

class FakeCard extends TypedEmitter<CardEvents> {
  info: CardInfo | undefined;
}

/** Compile-time check: the real driver interface fits what the trunk asks for. */
export const driverFits = (card: TelephonyCard): PriCardView => card;

describe('PRI trunk over the card link', () => {
  it('maps B channels to TDM channels: E1 skips timeslot 16, T1 is one to one', () => {
    const e1 = { span: 1, type: 'E1' as const, firstChannel: 1, channels: 30 };
    assert.deepEqual([1, 15, 17, 31].map((b) => tdmChannelOf(e1, b)), [1, 15, 16, 30]);
    const t1 = { span: 1, type: 'T1' as const, firstChannel: 50, channels: 23 };
    assert.deepEqual([1, 23].map((b) => tdmChannelOf(t1, b)), [50, 72]);
  });

  it('runs a user-side span per card span; a call from the network arrives with its TDM channel', () => {
    const clock = new ManualClock();
    const card = new FakeCard();
    const toNetwork: Buffer[] = [];
    const toTrunk: Buffer[] = [];
    const trunk = new PriTrunk({ card, clock, log: nullLogger, sendDchan: (span, data) => (span === 2 ? toNetwork.push(Buffer.from(data)) > 0 : false) });
    const network = new PriSpan({ span: 2, side: 'network', variant: SWITCH_VARIANTS.etsi, clock, log: nullLogger, sendFrame: (f) => toTrunk.push(f) });
    const flush = () => {
      while (toNetwork.length || toTrunk.length) {
        const a = toNetwork.shift();
        if (a) network.receiveFrame(a);
        const b = toTrunk.shift();
        if (b) trunk.receiveDchan(2, b);
      }
    };
    const ups: [number, boolean][] = [];
    trunk.on('dchannel', (s, up) => ups.push([s, up]));
    trunk.start();
    card.info = INFO;
    card.emit('link-up', INFO);
    network.start();
    flush();
    assert.deepEqual(ups, [[2, true]]);
    const calls: PstnCall[] = [];
    trunk.on('incoming', (c) => calls.push(c));
    network.placeCall({ called: '100', calling: '200', channel: 17 });
    flush();
    assert.equal(calls[0]?.info.channel, 116);
    assert.equal(calls[0]?.info.trunk, 'span/2');
    const warnings: string[] = [];
    trunk.on('warning', (w) => warnings.push(w));
    trunk.receiveDchan(5, Buffer.from('000173', 'hex'));
    assert.equal(trunk.droppedFrames, 1);
    assert.match(warnings[0] ?? '', /span 5, which is not a configured PRI span/);
    assert.equal(trunk.status()[0]?.dchannelUp, true);

    // LOS on the span: the D channel is down at once, the ringing call is cleared; alarm cleared: back up.
    const released: number[] = [];
    calls[0]?.on('released', (r) => released.push(r.q850));
    card.emit('line', { kind: 'span-alarm', span: 2, alarms: ['LOS'] });
    assert.deepEqual(ups, [[2, true], [2, false]]);
    assert.deepEqual(released, [41]);
    toNetwork.length = 0;
    clock.advance(5000);
    assert.equal(toNetwork.length, 0, 'no SABME while layer 1 is down');
    card.emit('line', { kind: 'span-alarm', span: 2, alarms: [] });
    flush();
    assert.deepEqual(ups, [[2, true], [2, false], [2, true]]);
    trunk.stop();
  });
});
