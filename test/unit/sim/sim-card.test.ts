import assert from 'node:assert/strict';
import { SimCard } from '../../../hw/sim/sim-card';
import { nullLogger } from '../../../hw/base/logger';
import { ManualClock } from '../../lib/manual-clock';
import { duplexPair, flush, TestHost } from '../../lib/sim-host';
import type { PstnCall } from '../../../hw/sim/pstn-call';

function setup(opts: { keepaliveMs?: number } = {}): { card: SimCard; host: TestHost; clock: ManualClock } {
  const clock = new ManualClock();
  const card = new SimCard({ log: nullLogger, clock, keepaliveMs: opts.keepaliveMs ?? 1000, keepaliveMissLimit: 3, seed: 5 });
  const pair = duplexPair();
  const host = new TestHost(pair.host);
  card.start();
  card.attach(pair.card);
  return { card, host, clock };
}

describe('sim card: link behaviour (in-memory stream, manual clock)', () => {
  let card: SimCard | undefined;
  afterEach(() => card?.stop());

  it('says hello on attach: 4 FXO ports, channel = port, µ-law', async () => {
    const s = setup();
    card = s.card;
    await flush();
    const [hello] = s.host.of('card-hello');
    assert.ok(hello);
    assert.equal(hello.law, 'ulaw');
    assert.equal(hello.protocolVersion, 1);
    assert.deepEqual(
      hello.ports.map((p) => [p.port, p.kind, p.channel]),
      [1, 2, 3, 4].map((n) => [n, 'fxo', n]),
    );
    assert.ok(hello.model && hello.firmwareVersion && hello.serial);
  });

  it('answers a host hello with a fresh hello and only then streams line events', async () => {
    const s = setup({ keepaliveMs: 10_000 });
    card = s.card;
    s.card.placeCall({ port: 1, callerNumber: '5551230000' });
    s.clock.advance(100);
    await flush();
    assert.equal(s.host.of('line-event').length, 0, 'no events before the host said hello');
    s.host.hello();
    await flush();
    assert.equal(s.host.of('card-hello').length, 2);
    assert.equal(s.card.state, 'ready');
    s.clock.advance(6000);
    await flush();
    assert.deepEqual(
      s.host.of('line-event').map((m) => m.event.kind),
      ['ring-off', 'caller-id', 'ring-on'],
    );
  });

  it('sends keepalives when idle, declares the host lost after the miss limit, and recovers on its next frame', async () => {
    const s = setup();
    card = s.card;
    s.host.hello();
    await flush();
    let lost = 0;
    s.card.on('host-lost', () => lost++);
    s.clock.advance(3000);
    await flush();
    assert.equal(s.host.of('keepalive').length, 3);
    assert.equal(lost, 0);
    s.clock.advance(1000);
    await flush();
    assert.equal(lost, 1);
    assert.equal(s.card.state, 'lost');
    s.host.send({ type: 'keepalive' });
    await flush();
    assert.equal(s.card.state, 'ready');
  });

  it('executes hook commands with results: off-hook answers a ringing call, on-hook hangs up', async () => {
    const s = setup();
    card = s.card;
    s.host.hello();
    await flush();
    const started: PstnCall[] = [];
    const ended: PstnCall[] = [];
    s.card.on('call-started', (c) => started.push(c));
    s.card.on('call-ended', (c) => ended.push(c));
    const call = s.card.placeCall({ port: 3, callerNumber: '5551230000', audio: [{ speech: 2000 }], hangup: 'wait-for-host' });
    s.clock.advance(3000);
    await flush();
    const id = s.host.command({ kind: 'off-hook', port: 3 });
    await flush();
    assert.deepEqual((await s.host.waitFor('command-result', (m) => m.requestId === id)).status, 'ok');
    const events = s.host.of('line-event').map((m) => m.event);
    assert.deepEqual(events.slice(-2), [
      { kind: 'hook-state', port: 3, offHook: true },
      { kind: 'loop-current', port: 3, present: true },
    ]);
    assert.equal(call.state, 'connected');
    s.clock.advance(1000);
    await flush();
    assert.equal(s.host.pcmFor(3).length, 8000, '1 s of audio = 100 chunks of 80 bytes');
    assert.deepEqual(s.host.pcmFor(3), call.sent());
    s.host.send({ type: 'pcm', tdmSample: 0, chunks: [{ channel: 3, data: Buffer.alloc(80, 0x55) }] });
    s.host.send({ type: 'pcm', tdmSample: 80, chunks: [{ channel: 3, data: Buffer.alloc(40, 0x66) }] });
    await flush();
    assert.equal(call.heard().length, 0, 'host audio waits in the playout buffer for the TDM clock');
    s.clock.advance(10);
    assert.deepEqual([...call.heard()], new Array<number>(80).fill(0x55));
    s.clock.advance(10);
    assert.deepEqual([...call.heard()], [...new Array<number>(80).fill(0x55), ...new Array<number>(40).fill(0x66)]);
    s.host.command({ kind: 'on-hook', port: 3 });
    await flush();
    assert.equal(call.endReason, 'host-hangup');
    assert.deepEqual([started.length, ended.length], [1, 1]);
    assert.equal(s.card.isPortIdle(3), true);
  });

  it('paces PCM by the TDM clock: 100 chunks per second per active channel, tdmSample +80 each', async () => {
    const s = setup();
    card = s.card;
    s.host.hello();
    s.host.command({ kind: 'off-hook', port: 2 }); // dial tone
    await flush();
    s.clock.advance(1000);
    await flush();
    const pcm = s.host.of('pcm');
    assert.equal(pcm.length, 100);
    for (let i = 1; i < pcm.length; i++) assert.equal(((pcm[i]?.tdmSample ?? 0) - (pcm[i - 1]?.tdmSample ?? 0)) >>> 0, 80);
    assert.ok(pcm.every((m) => m.chunks.length === 1 && m.chunks[0]?.channel === 2 && m.chunks[0].data.length === 80));
  });

  it('refuses commands a real card refuses, naming the bad value', async () => {
    const s = setup();
    card = s.card;
    s.host.hello();
    const bad = s.host.command({ kind: 'off-hook', port: 9 });
    const dialOnHook = s.host.command({ kind: 'dial', port: 1, digits: '123' });
    s.host.send({ type: 'span-config', requestId: 77, span: 1, lineCode: 'hdb3', framing: 'crc4', signaling: 'ccs', clockSource: 'line' });
    await flush();
    const r1 = await s.host.waitFor('command-result', (m) => m.requestId === bad);
    assert.equal(r1.status, 'bad-port');
    assert.match(r1.detail, /port 9 not in 1\.\.4/);
    assert.equal((await s.host.waitFor('command-result', (m) => m.requestId === dialOnHook)).status, 'wrong-state');
    assert.equal((await s.host.waitFor('command-result', (m) => m.requestId === 77)).status, 'bad-argument');
  });

  it('dials an outward call on an off-hook port: result after the dialling time, ringback, then the callee answers', async () => {
    const s = setup();
    card = s.card;
    s.host.hello();
    s.host.command({ kind: 'off-hook', port: 1 });
    await flush();
    const answered: PstnCall[] = [];
    s.card.on('call-answered', (c) => answered.push(c));
    const id = s.host.command({ kind: 'dial', port: 1, digits: '5551212' });
    await flush();
    assert.equal(s.host.of('command-result').filter((m) => m.requestId === id).length, 0, 'not before the digits are out');
    s.clock.advance(700);
    await flush();
    assert.equal((await s.host.waitFor('command-result', (m) => m.requestId === id)).status, 'ok');
    // The callee's answerAfterMs (3 s by default) counts from the end of the dialling.
    s.clock.advance(2950);
    assert.equal(answered.length, 0, 'not answered before 3 s of ringback');
    s.clock.advance(100);
    assert.equal(answered.length, 1);
    assert.equal(answered[0]?.direction, 'outbound');
    assert.equal(answered[0]?.dialled, '5551212');
  });

  it('resetCard drops calls and sends a fresh hello; the host must say hello again', async () => {
    const s = setup();
    card = s.card;
    s.host.hello();
    const call = s.card.placeCall({ port: 1, callerNumber: '1' });
    await flush();
    s.card.resetCard();
    await flush();
    assert.equal(call.endReason, 'reset');
    assert.equal(s.host.of('card-hello').length, 3);
    assert.equal(s.card.state, 'attached');
  });

  it('injected garbage between frames is skipped by the host decoder and the link goes on', async () => {
    const s = setup();
    card = s.card;
    s.host.hello();
    await flush();
    s.card.injectGarbage(Buffer.from([0xa5, 0x00, 0x13, 0x37, 0xa5, 0x5a, 0xff, 0x01, 0x02]));
    s.clock.advance(1000);
    await flush();
    assert.equal(s.host.of('keepalive').length, 1);
    assert.ok(s.host.decoder.stats.resyncBytesSkipped >= 9);
  });

  it('keeps stopped keepalives and a paused link silent (fault injection)', async () => {
    const s = setup();
    card = s.card;
    s.host.hello();
    await flush();
    s.card.setKeepalivesEnabled(false);
    s.clock.advance(2000);
    await flush();
    assert.equal(s.host.of('keepalive').length, 0);
    s.card.setKeepalivesEnabled(true);
    s.card.setLinkPaused(true);
    s.host.command({ kind: 'off-hook', port: 1 });
    s.clock.advance(500);
    await flush();
    assert.equal(s.host.of('keepalive').length + s.host.of('pcm').length + s.host.of('command-result').length, 0);
  });

  it('ignores everything but hello and keepalive before the host says hello (card-link §3.1)', async () => {
    const s = setup();
    card = s.card;
    s.host.command({ kind: 'off-hook', port: 1 });
    await flush();
    assert.equal(s.host.of('command-result').length, 0);
    assert.equal(s.card.isOffHook(1), false);
    assert.equal(s.card.stats.unexpectedMessages, 1);
  });

  it('reports playout underruns and overruns and link receive errors in its counters', async () => {
    const s = setup({ keepaliveMs: 60_000 });
    card = s.card;
    s.host.hello();
    s.card.placeCall({ port: 1, callerNumber: '1', hangup: 'wait-for-host' });
    s.host.command({ kind: 'off-hook', port: 1 });
    await flush();
    for (let i = 0; i < 30; i++) s.host.send({ type: 'pcm', tdmSample: i * 80, chunks: [{ channel: 1, data: Buffer.alloc(80, i) }] });
    s.host.writeRaw(Buffer.from([0xa5, 0x5a, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 1, 2, 3, 4]));
    await flush();
    s.clock.advance(300); // 30 ticks: 25 chunks fit the 250 ms buffer, then 5 empty ticks
    s.host.send({ type: 'counters-request' });
    await flush();
    const [c] = s.host.of('counters');
    assert.ok(c);
    assert.equal(c.pcmOverruns, 5);
    assert.equal(c.pcmUnderruns, 5);
    assert.equal(c.linkRxCrcErrors + s.card.hostLinkStats.headerErrors > 0, true);
  });

  it('sends a counters report every 10 s while the host is present', async () => {
    const s = setup({ keepaliveMs: 60_000 });
    card = s.card;
    s.host.hello();
    await flush();
    s.clock.advance(9_990);
    await flush();
    assert.equal(s.host.of('counters').length, 0);
    s.clock.advance(20);
    await flush();
    assert.equal(s.host.of('counters').length, 1);
    s.clock.advance(10_000);
    await flush();
    assert.equal(s.host.of('counters').length, 2);
  });

  it('port-config: caller-id mode none suppresses caller-id events; in-audio sends the FSK burst in the ringing line\'s PCM instead', async () => {
    const s = setup({ keepaliveMs: 60_000 });
    card = s.card;
    s.host.hello();
    s.host.send({ type: 'port-config', requestId: 5, port: 1, callerIdMode: 'none', rxGainDeciDb: 0, txGainDeciDb: 0 });
    s.host.send({ type: 'port-config', requestId: 6, port: 2, callerIdMode: 'in-audio', rxGainDeciDb: 0, txGainDeciDb: 0 });
    s.host.send({ type: 'port-config', requestId: 7, port: 5, callerIdMode: 'card-decoded', rxGainDeciDb: 0, txGainDeciDb: 0 });
    await flush();
    assert.equal((await s.host.waitFor('command-result', (m) => m.requestId === 5)).status, 'ok');
    assert.equal((await s.host.waitFor('command-result', (m) => m.requestId === 6)).status, 'ok');
    assert.equal((await s.host.waitFor('command-result', (m) => m.requestId === 7)).status, 'bad-port');
    s.card.placeCall({ port: 1, callerNumber: '5550000001' });
    s.card.placeCall({ port: 2, callerNumber: '5550000002' });
    s.card.placeCall({ port: 3, callerNumber: '5550000003' });
    s.clock.advance(7000);
    await flush();
    const cids = s.host.of('line-event').flatMap((m) => (m.event.kind === 'caller-id' ? [m.event.port] : []));
    assert.deepEqual(cids, [3]);
    // Port 2 (in-audio, on-hook, ringing): PCM on channel 2 only, during the burst after the first ring.
    const pcmChannels = new Set(s.host.of('pcm').flatMap((m) => m.chunks.map((c) => c.channel)));
    assert.deepEqual([...pcmChannels], [2]);
  });

  it('flash: refused on-hook, completes after its duration off-hook', async () => {
    const s = setup({ keepaliveMs: 60_000 });
    card = s.card;
    s.host.hello();
    const onHook = s.host.command({ kind: 'flash', port: 1, durationMs: 500 });
    s.host.command({ kind: 'off-hook', port: 1 });
    const offHook = s.host.command({ kind: 'flash', port: 1, durationMs: 500 });
    await flush();
    assert.equal((await s.host.waitFor('command-result', (m) => m.requestId === onHook)).status, 'wrong-state');
    assert.equal(s.host.of('command-result').some((m) => m.requestId === offHook), false);
    s.clock.advance(500);
    await flush();
    assert.equal((await s.host.waitFor('command-result', (m) => m.requestId === offHook)).status, 'ok');
  });
});
