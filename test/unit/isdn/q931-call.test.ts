import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { Q931Call, type Q931Side } from '../../../controller/pstn/isdn/q931-call';
import { findIe, type Q931Message } from '../../../controller/pstn/isdn/q931-message';
import { SWITCH_VARIANTS } from '../../../controller/pstn/isdn/switch-variant';
import { ManualClock } from '../../lib/manual-clock';

/** One call against a scripted peer: what it sends is recorded, what it receives is typed in by the test. */
function rig(side: Q931Side, originator: boolean) {
  const clock = new ManualClock();
  const sent: Q931Message[] = [];
  const call = new Q931Call({ side, variant: SWITCH_VARIANTS.etsi, callRef: 7, originator, clock, log: nullLogger, send: (m) => sent.push(m) });
  const released: [number, string, boolean][] = [];
  call.on('released', (c, by, suspect) => released.push([c, by, suspect]));
  const rx = (type: Q931Message['type'], ies: Q931Message['ies'] = []) => call.receive({ callRef: { length: 2, flag: originator, value: 7 }, type, ies });
  return { clock, sent, call, released, rx, types: () => sent.map((m) => m.type) };
}

const cause = (m: Q931Message | undefined) => (m ? findIe(m, 'cause')?.value : undefined);

describe('Q.931 call control timers and clearing (one call reference)', () => {
  it('T303: SETUP is sent again once, then the call is cleared with cause 102 (§5.1.1)', () => {
    const r = rig('user', true);
    r.call.setup({ called: '1', calling: '2', channel: 1, exclusive: false });
    r.clock.advance(4000);
    assert.deepEqual(r.types(), ['SETUP', 'SETUP']);
    r.clock.advance(4000);
    assert.deepEqual(r.types(), ['SETUP', 'SETUP', 'RELEASE COMPLETE']);
    assert.equal(cause(r.sent[2]), 102);
    assert.deepEqual(r.released, [[102, 'local', false]]);
    assert.equal(r.clock.pending, 0);
  });

  it('T310: CALL PROCEEDING then silence → DISCONNECT cause 102 (§5.1.7)', () => {
    const r = rig('user', true);
    r.call.setup({ called: '1', calling: '2', channel: 1, exclusive: false });
    r.rx('CALL PROCEEDING');
    assert.equal(r.call.stateNumber, 3);
    r.clock.advance(30_000);
    assert.equal(r.sent[1]?.type, 'DISCONNECT');
    assert.equal(cause(r.sent[1]), 102);
    assert.equal(r.call.stateNumber, 11);
  });

  it('T305 then T308 twice: DISCONNECT → RELEASE → RELEASE → call reference freed, channel suspect (§5.3.3, §5.3.4.3)', () => {
    const r = rig('user', true);
    r.call.setup({ called: '1', calling: '2', channel: 1, exclusive: false });
    r.rx('CONNECT');
    assert.deepEqual(r.types(), ['SETUP', 'CONNECT ACKNOWLEDGE']);
    r.call.disconnect(16);
    r.clock.advance(30_000);
    assert.deepEqual(r.types().slice(2), ['DISCONNECT', 'RELEASE']);
    assert.equal(r.call.stateNumber, 19);
    r.clock.advance(4000);
    assert.deepEqual(r.types().slice(4), ['RELEASE']);
    r.clock.advance(4000);
    assert.deepEqual(r.released, [[16, 'local', true]]);
    assert.equal(r.call.state, 'null');
  });

  it('T313: CONNECT without CONNECT ACKNOWLEDGE → DISCONNECT cause 102 (user side, §5.2.8)', () => {
    const r = rig('user', false);
    r.call.receivedSetup(4);
    r.call.proceeding();
    r.call.connect();
    assert.equal(r.call.stateNumber, 8);
    assert.deepEqual(findIe(r.sent[0] as Q931Message, 'channel-id')?.channels, [4], 'first answer to SETUP names the channel');
    r.clock.advance(4000);
    assert.equal(r.sent[2]?.type, 'DISCONNECT');
    assert.equal(cause(r.sent[2]), 102);
  });

  it('network side: CONNECT makes the call active at once (N10), no T313', () => {
    const r = rig('network', false);
    const events: string[] = [];
    r.call.on('connected', () => events.push('connected'));
    r.call.receivedSetup(4);
    r.call.connect();
    assert.equal(r.call.stateNumber, 10);
    assert.deepEqual(events, ['connected']);
    assert.equal(r.clock.pending, 0);
  });

  it('peer DISCONNECT → RELEASE → RELEASE COMPLETE; cause reported as from the peer (§5.3.4)', () => {
    const r = rig('user', false);
    r.call.receivedSetup(1);
    r.call.connect();
    r.rx('CONNECT ACKNOWLEDGE');
    r.rx('DISCONNECT', [{ id: 'cause', location: 2, value: 17, diagnostics: Buffer.alloc(0) }]);
    assert.deepEqual(r.types().slice(-1), ['RELEASE']);
    r.rx('RELEASE COMPLETE');
    assert.deepEqual(r.released, [[17, 'peer', false]]);
  });

  it('STATUS ENQUIRY is answered with STATUS: cause 30 and the call state (§5.8.10)', () => {
    const r = rig('user', false);
    r.call.receivedSetup(1);
    r.call.proceeding();
    r.rx('STATUS ENQUIRY');
    const status = r.sent[1] as Q931Message;
    assert.equal(status.type, 'STATUS');
    assert.equal(cause(status), 30);
    assert.deepEqual(findIe(status, 'call-state'), { id: 'call-state', value: 9 });
  });

  it('a message not compatible with the state gets STATUS cause 101 (§5.8.4); STATUS "Null" releases (§5.8.11)', () => {
    const r = rig('user', false);
    r.call.receivedSetup(1);
    r.call.proceeding();
    r.rx('CONNECT');
    assert.equal(r.sent[1]?.type, 'STATUS');
    assert.equal(cause(r.sent[1]), 101);
    r.rx('STATUS', [{ id: 'call-state', value: 0 }]);
    assert.equal(r.call.state, 'null');
  });

  it('clear collision: RELEASE received while awaiting RELEASE COMPLETE frees the call without a reply (§5.3.5)', () => {
    const r = rig('network', true);
    r.call.setup({ called: '1', calling: '2', channel: 1, exclusive: true });
    r.rx('DISCONNECT');
    const n = r.sent.length;
    r.rx('RELEASE');
    assert.equal(r.sent.length, n);
    assert.equal(r.call.state, 'null');
  });

  it('data link failure (§5.8.9): a call being set up clears at once; an active call waits T309', () => {
    const a = rig('user', true);
    a.call.setup({ called: '1', calling: '2', channel: 1, exclusive: false });
    a.call.linkDown();
    assert.deepEqual(a.released, [[41, 'local', false]]);
    const b = rig('user', true);
    b.call.setup({ called: '1', calling: '2', channel: 1, exclusive: false });
    b.rx('CONNECT');
    b.call.linkDown();
    b.clock.advance(60_000);
    assert.equal(b.call.state, 'active');
    b.call.linkUp();
    assert.equal(b.sent[b.sent.length - 1]?.type, 'STATUS ENQUIRY');
    b.call.linkDown();
    b.clock.advance(90_000);
    assert.deepEqual(b.released, [[27, 'local', false]]);
  });

  it('primitives in the wrong state throw, naming both the primitive and the state', () => {
    const r = rig('user', false);
    assert.throws(() => r.call.connect(), /Q.931 connect is not allowed in call state null \(call reference 7\)/);
  });
});
