import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nullLogger } from '../../../hw/base/logger';
import { decodeLapdFrame, encodeLapdFrame, type LapdFrame } from '../../../controller/pstn/isdn/lapd-frame';
import { LapdLink, type LapdRole } from '../../../controller/pstn/isdn/lapd-link';
import { ManualClock } from '../../lib/manual-clock';

/** Two links back to back; frames queued and delivered by flush(), with optional loss. */
function pair() {
  const clock = new ManualClock();
  const queue: { to: 'user' | 'network'; bytes: Buffer }[] = [];
  const sent: { from: LapdRole; frame: LapdFrame }[] = [];
  let drop: (from: LapdRole, f: LapdFrame) => boolean = () => false;
  const mk = (role: LapdRole) =>
    new LapdLink({
      role,
      clock,
      log: nullLogger,
      sendFrame: (bytes) => {
        const frame = decodeLapdFrame(bytes);
        sent.push({ from: role, frame });
        if (!drop(role, frame)) queue.push({ to: role === 'user' ? 'network' : 'user', bytes });
      },
    });
  const user = mk('user');
  const network = mk('network');
  const rx = { user: [] as string[], network: [] as string[] };
  user.on('data', (b) => rx.user.push(b.toString()));
  network.on('data', (b) => rx.network.push(b.toString()));
  const flush = () => {
    for (let n = 0; queue.length > 0 && n < 1000; n++) {
      const f = queue.shift();
      if (f) (f.to === 'user' ? user : network).receive(f.bytes);
    }
  };
  const run = (ms: number) => {
    flush();
    for (let t = 0; t < ms; t += 10) {
      clock.advance(10);
      flush();
    }
  };
  return { clock, user, network, sent, rx, flush, run, setDrop: (d: typeof drop) => (drop = d) };
}

const kinds = (sent: { from: LapdRole; frame: LapdFrame }[]) =>
  sent.map(({ from, frame: { control: c } }) => `${from[0]}:${c.format === 'I' ? `I${c.ns}` : c.kind}${(c.format === 'I' ? c.p : c.pf) ? '*' : ''}`);

describe('Q.921 LAPD data link (point-to-point, TEI 0)', () => {
  it('§5.5.1: SABME(P=1) from the user, UA(F=1) from the network; both in multiple-frame operation', () => {
    const p = pair();
    const ups: string[] = [];
    p.user.on('established', () => ups.push('user'));
    p.network.on('established', () => ups.push('network'));
    p.user.establish();
    p.flush();
    assert.deepEqual(kinds(p.sent), ['u:SABME*', 'n:UA*']);
    assert.equal(p.sent[0]?.frame.cr, 0, 'a user command carries C/R = 0 (Table 1)');
    assert.equal(p.sent[1]?.frame.cr, 0, 'a network response carries C/R = 0 (Table 1)');
    assert.deepEqual(ups, ['network', 'user']);
    assert.equal(p.user.state, 'multiple-frame-established');
    assert.equal(p.network.state, 'multiple-frame-established');
  });

  it('§5.5.1.3: both sides send SABME at once and both end up established', () => {
    const p = pair();
    p.user.establish();
    p.network.establish();
    p.run(50);
    assert.equal(p.user.state, 'multiple-frame-established');
    assert.equal(p.network.state, 'multiple-frame-established');
  });

  it('§5.6: I frames carry N(S)/N(R) in sequence and are acknowledged; data arrives in order', () => {
    const p = pair();
    p.user.establish();
    p.flush();
    for (const s of ['a', 'b', 'c']) p.user.send(Buffer.from(s));
    p.network.send(Buffer.from('x'));
    p.run(50);
    assert.deepEqual(p.rx.network, ['a', 'b', 'c']);
    assert.deepEqual(p.rx.user, ['x']);
    const iFrames = p.sent.filter((s) => s.frame.control.format === 'I').map((s) => s.frame.control);
    assert.deepEqual(iFrames.map((c) => (c.format === 'I' ? c.ns : -1)), [0, 1, 2, 0]);
  });

  it('§5.6.1 window k = 7: the eighth frame waits for an acknowledgement', () => {
    const p = pair();
    p.user.establish();
    p.flush();
    p.setDrop((from, f) => from === 'network' && f.control.format === 'S');
    for (let i = 0; i < 9; i++) p.user.send(Buffer.from(String(i)));
    p.flush();
    assert.equal(p.sent.filter((s) => s.from === 'user' && s.frame.control.format === 'I').length, 7);
    p.setDrop(() => false);
    p.run(1500);
    assert.deepEqual(p.rx.network, ['0', '1', '2', '3', '4', '5', '6', '7', '8']);
  });

  it('§5.8.1: a lost I frame is detected by N(S), answered with REJ, and retransmitted', () => {
    const p = pair();
    p.user.establish();
    p.flush();
    let lost = false;
    p.setDrop((from, f) => {
      if (!lost && from === 'user' && f.control.format === 'I' && f.control.ns === 1) return (lost = true);
      return false;
    });
    for (const s of ['a', 'b', 'c']) p.user.send(Buffer.from(s));
    p.run(100);
    assert.deepEqual(p.rx.network, ['a', 'b', 'c']);
    assert.ok(kinds(p.sent).includes('n:REJ'), `no REJ in ${kinds(p.sent).join(' ')}`);
    assert.equal(p.network.counters.rejectsSent, 1);
  });

  it('§5.6.2/T200: a lost last I frame is retransmitted with P=1 after T200 (timer recovery)', () => {
    const p = pair();
    p.user.establish();
    p.flush();
    let lost = false;
    p.setDrop((from, f) => (!lost && from === 'user' && f.control.format === 'I' ? (lost = true) : false));
    p.user.send(Buffer.from('a'));
    p.run(500);
    assert.deepEqual(p.rx.network, []);
    assert.equal(p.user.state, 'multiple-frame-established');
    p.run(700);
    assert.deepEqual(p.rx.network, ['a']);
    assert.ok(kinds(p.sent).includes('u:I0*'), kinds(p.sent).join(' '));
    assert.equal(p.user.state, 'multiple-frame-established');
  });

  it('T203: an idle link is polled with RR(P=1) and stays up when answered', () => {
    const p = pair();
    p.user.establish();
    p.flush();
    p.sent.length = 0;
    p.run(10_100);
    assert.ok(kinds(p.sent).slice(0, 2).join(' ').includes('RR*'), kinds(p.sent).join(' '));
    assert.equal(p.user.state, 'multiple-frame-established');
  });

  it('N200: a peer that stops answering is detected (T200 × N200) and re-establishment starts', () => {
    const p = pair();
    p.user.establish();
    p.flush();
    const errors: string[] = [];
    p.user.on('mdl-error', (code) => errors.push(code));
    p.setDrop((from) => from === 'network');
    p.user.send(Buffer.from('a'));
    p.run(4100);
    assert.ok(errors.includes('I'), `MDL errors ${errors.join(',')}`);
    assert.equal(p.user.state, 'awaiting-establishment');
    const released: string[] = [];
    p.user.on('released', (r) => released.push(r));
    p.run(4000);
    assert.equal(p.user.state, 'tei-assigned');
    assert.deepEqual(released, ['establishment failed (T200 × N200)']);
    p.network.stop();
    assert.equal(p.clock.pending, 0, 'no timer left running in TEI-assigned');
  });

  it('§5.5.2: DISC(P=1) answered by UA(F=1); both sides released', () => {
    const p = pair();
    p.user.establish();
    p.flush();
    const rel: string[] = [];
    p.user.on('released', (r) => rel.push(`u:${r}`));
    p.network.on('released', (r) => rel.push(`n:${r}`));
    p.user.release();
    p.flush();
    assert.deepEqual(rel, ['n:released by peer (DISC)', 'u:released (UA)']);
    assert.equal(p.user.state, 'tei-assigned');
    assert.equal(p.network.state, 'tei-assigned');
  });

  it('§5.5.1.2: DM(F=1) in answer to SABME refuses establishment', () => {
    const clock = new ManualClock();
    const out: Buffer[] = [];
    const link = new LapdLink({ role: 'user', clock, log: nullLogger, sendFrame: (b) => out.push(b) });
    const rel: string[] = [];
    link.on('released', (r) => rel.push(r));
    link.establish();
    link.receive(encodeLapdFrame({ sapi: 0, cr: 0, tei: 0, control: { format: 'U', kind: 'DM', pf: true }, info: Buffer.alloc(0) }));
    assert.deepEqual(rel, ['peer refused establishment (DM)']);
    assert.equal(link.state, 'tei-assigned');
  });

  it('§5.8.2: an N(R) outside V(A)..V(S) is an error (J) and starts re-establishment', () => {
    const clock = new ManualClock();
    const out: Buffer[] = [];
    const link = new LapdLink({ role: 'user', clock, log: nullLogger, sendFrame: (b) => out.push(b) });
    link.establish();
    link.receive(Buffer.from('000173', 'hex'));
    const errors: string[] = [];
    link.on('mdl-error', (code) => errors.push(code));
    link.receive(encodeLapdFrame({ sapi: 0, cr: 1, tei: 0, control: { format: 'I', ns: 0, nr: 9, p: false }, info: Buffer.from('x') }));
    assert.deepEqual(errors, ['J']);
    assert.equal(link.state, 'awaiting-establishment');
    assert.deepEqual(decodeLapdFrame(out[out.length - 1] ?? Buffer.alloc(0)).control, { format: 'U', kind: 'SABME', pf: true });
  });

  it('drops malformed frames and frames for another TEI, counting them', () => {
    const link = new LapdLink({ role: 'user', clock: new ManualClock(), log: nullLogger, sendFrame: () => undefined });
    link.receive(Buffer.from('00', 'hex'));
    link.receive(Buffer.from('02037f', 'hex'));
    assert.equal(link.counters.badFrames, 1);
    assert.equal(link.counters.otherAddress, 1);
    assert.equal(link.state, 'tei-assigned');
  });

  it('property: under random frame loss, data arrives in order without duplicates, and all of it when the link never reset', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 12 }), (lossPattern, count) => {
        const p = pair();
        p.user.establish();
        p.flush();
        let n = 0;
        const resets: string[] = [];
        p.user.on('mdl-error', (code) => resets.push(code));
        p.network.on('mdl-error', (code) => resets.push(code));
        // Layer 3 asks again after a failed establishment, as PriSpan does.
        p.user.on('released', () => void p.clock.setTimeout(() => p.user.establish(), 1000));
        p.setDrop(() => lossPattern[n++ % lossPattern.length] === true && n < 40);
        const sentU: string[] = [];
        const sentN: string[] = [];
        for (let i = 0; i < count; i++) {
          sentU.push(`u${i}`);
          p.user.send(Buffer.from(`u${i}`));
          sentN.push(`n${i}`);
          p.network.send(Buffer.from(`n${i}`));
        }
        p.run(40_000);
        for (const [got, sent] of [
          [p.rx.network, sentU],
          [p.rx.user, sentN],
        ] as const) {
          assert.equal(new Set(got).size, got.length, `duplicates in ${got.join(',')}`);
          const idx = got.map((g) => sent.indexOf(g));
          assert.deepEqual(idx, [...idx].sort((a, b) => a - b), `out of order: ${got.join(',')}`);
          if (resets.length === 0) assert.deepEqual(got, sent);
        }
        assert.ok(p.user.isEstablished && p.network.isEstablished, 'the link recovers once loss stops');
      }),
      { seed: 5921, numRuns: 300 },
    );
  });

  it('property: any sequence of frames from the peer (valid or not) never throws, and stop() leaves no timer', () => {
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
      fc
        .record({
          cr: fc.constantFrom(0 as const, 1 as const),
          control: fc.oneof(
            fc.record({ format: fc.constant('I' as const), ns: fc.nat(127), nr: fc.nat(127), p: fc.boolean() }),
            fc.record({ format: fc.constant('S' as const), kind: fc.constantFrom('RR' as const, 'RNR' as const, 'REJ' as const), nr: fc.nat(127), pf: fc.boolean() }),
            fc.record({ format: fc.constant('U' as const), kind: fc.constantFrom('SABME' as const, 'DM' as const, 'DISC' as const, 'UA' as const, 'FRMR' as const, 'UI' as const), pf: fc.boolean() }),
          ),
        })
        .map(({ cr, control }) => encodeLapdFrame({ sapi: 0, cr, tei: 0, control: { ...control }, info: control.format === 'I' ? Buffer.from('x') : Buffer.alloc(0) })),
    );
    fc.assert(
      fc.property(fc.constantFrom<LapdRole>('user', 'network'), fc.array(fc.tuple(frame, fc.constantFrom(0, 0, 700, 3000)), { maxLength: 40 }), (role, script) => {
        const clock = new ManualClock();
        const link = new LapdLink({ role, clock, log: nullLogger, sendFrame: () => undefined });
        link.on('released', () => undefined);
        link.establish();
        for (const [bytes, ms] of script) {
          link.receive(bytes);
          if (link.isEstablished) link.send(Buffer.from('q'));
          clock.advance(ms);
        }
        link.stop();
        assert.equal(link.state, 'tei-assigned');
        assert.equal(clock.pending, 0);
      }),
      { seed: 9213, numRuns: 5000 },
    );
  });
});
