import assert from 'node:assert/strict';
import { TonewallError } from '../../../hw/base/errors';
import { nullLogger } from '../../../hw/base/logger';
import { SerialCard, type SerialCardOptions } from '../../../hw/card/serial-card';
import type { LineEvent } from '../../../hw/card/types';
import { encodeFrame } from '../../../hw/link/codec';
import { FakeCard, type FakeCardOptions } from '../../lib/link-fake-card';
import { MemoryBinding, settle, waitFor, type MemoryPeer } from '../../lib/link-memory-binding';
import { ManualClock } from '../../lib/manual-clock';

const KEEPALIVE_MS = 1000;
const MISS_LIMIT = 3;

function rig(fakeOptions: FakeCardOptions = {}, over: Partial<SerialCardOptions> = {}) {
  const clock = new ManualClock();
  const binding = new MemoryBinding();
  const fake = new FakeCard(fakeOptions);
  let peer: MemoryPeer | undefined;
  binding.onOpen((p) => {
    peer = p;
    fake.attach(p);
    p.onData((b) => fake.feed(b));
    p.onClose(() => fake.detach());
  });
  const card = new SerialCard({
    path: '/dev/ttyFAKE0',
    baudRate: 921600,
    keepaliveMs: KEEPALIVE_MS,
    keepaliveMissLimit: MISS_LIMIT,
    reconnectMinMs: 250,
    reconnectMaxMs: 10000,
    log: nullLogger,
    clock,
    binding,
    random: () => 0.5,
    ...over,
  });
  const events = { up: 0, down: [] as string[], lines: [] as LineEvent[], pcm: [] as [number, Buffer][], warnings: [] as string[] };
  card.on('link-up', () => events.up++);
  card.on('link-down', (r) => events.down.push(r));
  card.on('line', (e) => events.lines.push(e));
  card.on('pcm', (c, d) => events.pcm.push([c, d]));
  card.on('warning', (w) => events.warnings.push(w));
  return { clock, binding, fake, card, events, peer: () => peer };
}

async function up(r: ReturnType<typeof rig>): Promise<void> {
  await r.card.start();
  await waitFor(() => r.card.state === 'up', 'link up');
}

describe('SerialCard driver (docs/card-link.md §3) against a strict fake card', () => {
  it('handshake: sends host-hello with its version range and comes up with the card info', async () => {
    const r = rig();
    await up(r);
    const hello = r.fake.receivedOf('host-hello')[0];
    assert.deepEqual(hello && [hello.protocolMin, hello.protocolMax], [1, 1]);
    assert.equal(r.events.up, 1);
    assert.equal(r.card.info?.model, 'TW-FXO4');
    assert.deepEqual(r.card.info?.ports.map((p) => p.port), [1, 2, 3, 4]);
    assert.deepEqual(r.fake.violations, []);
    await r.card.stop();
  });

  it('refuses a card speaking a protocol version outside the host range, naming both, and retries later', async () => {
    const r = rig({ hello: { protocolVersion: 2 } });
    await r.card.start();
    await waitFor(() => r.events.warnings.length > 0, 'version warning');
    assert.equal(r.events.warnings[0], 'card speaks protocol version 2, host speaks 1..1');
    assert.equal(r.card.state, 'disconnected');
    assert.equal(r.events.up, 0);
    r.clock.advance(10000);
    await waitFor(() => r.binding.opens === 2, 'second attempt');
    await r.card.stop();
  });

  it('passes every line event kind through unchanged', async () => {
    const r = rig({ hello: { spans: [{ span: 1, type: 'E1', firstChannel: 5, channels: 30 }] } });
    await up(r);
    const events: LineEvent[] = [
      { kind: 'ring-on', port: 1 },
      { kind: 'ring-off', port: 1 },
      { kind: 'caller-id', port: 1, number: '5551234567', name: 'TONEWALL DEMO' },
      { kind: 'loop-current', port: 2, present: false },
      { kind: 'battery-reversal', port: 2 },
      { kind: 'hook-state', port: 3, offHook: true },
      { kind: 'span-alarm', span: 1, alarms: ['LOS', 'RAI'] },
    ];
    for (const e of events) r.fake.sendEvent(e);
    await waitFor(() => r.events.lines.length === events.length, 'line events');
    assert.deepEqual(r.events.lines, events);
    await r.card.stop();
  });

  it('command(): one request id per command, resolves on ok, and the card confirms the hook state', async () => {
    const r = rig();
    await up(r);
    await Promise.all([r.card.command({ kind: 'off-hook', port: 1 }), r.card.command({ kind: 'dial', port: 1, digits: '123#' })]);
    const sent = r.fake.receivedOf('hook-command');
    assert.deepEqual(sent.map((m) => m.command), [{ kind: 'off-hook', port: 1 }, { kind: 'dial', port: 1, digits: '123#' }]);
    assert.equal(new Set(sent.map((m) => m.requestId)).size, 2);
    await waitFor(() => r.events.lines.length === 1, 'hook-state');
    assert.deepEqual(r.events.lines[0], { kind: 'hook-state', port: 1, offHook: true });
    await r.card.stop();
  });

  it('command(): a card refusal rejects with the status and the command named', async () => {
    const r = rig();
    await up(r);
    await assert.rejects(r.card.command({ kind: 'flash', port: 2, durationMs: 5000 }), (e: unknown) => {
      assert.ok(e instanceof TonewallError);
      assert.equal(e.code, 'CARD_COMMAND_REJECTED');
      assert.equal(e.message, 'flash on port 2: card answered bad-argument (flash 50..2000 ms), expected ok');
      return true;
    });
    await assert.rejects(r.card.command({ kind: 'on-hook', port: 9 }), /on-hook on port 9: no such port, card has ports 1, 2, 3, 4/);
    assert.equal(r.fake.receivedOf('hook-command').length, 1, 'a command for a port the card does not have is never sent');
    await r.card.stop();
  });

  it('command(): times out naming the command when the card does not answer', async () => {
    const r = rig({ answerCommands: false });
    await up(r);
    const p = r.card.command({ kind: 'off-hook', port: 3 });
    await waitFor(() => r.fake.receivedOf('hook-command').length === 1, 'command sent');
    r.clock.advance(2000);
    await assert.rejects(p, (e: unknown) => e instanceof TonewallError && e.code === 'CARD_COMMAND_TIMEOUT' && e.message === 'off-hook on port 3: no reply from the card within 2000 ms');
    await r.card.stop();
  });

  it('command() while the link is not up rejects at once, naming the state', async () => {
    const r = rig();
    await assert.rejects(r.card.command({ kind: 'off-hook', port: 1 }), /off-hook on port 1: card link is disconnected, expected up/);
  });

  it('configureSpan/configurePort go through the same request/reply path', async () => {
    const r = rig({ hello: { spans: [{ span: 1, type: 'E1', firstChannel: 5, channels: 30 }] } });
    await up(r);
    await r.card.configureSpan({ span: 1, lineCode: 'hdb3', framing: 'crc4', signaling: 'ccs', clockSource: 'line' });
    await r.card.configurePort({ port: 2, callerIdMode: 'in-audio', rxGainDeciDb: 0, txGainDeciDb: -30 });
    await assert.rejects(r.card.configureSpan({ span: 2, lineCode: 'b8zs', framing: 'esf', signaling: 'cas', clockSource: 'internal' }), /span-config of span 2: card answered bad-argument \(no span 2\)/);
    assert.equal(r.fake.receivedOf('span-config').length, 2);
    await r.card.stop();
  });

  it('PCM from the card: delivered per channel with its bytes; unknown channels dropped and counted', async () => {
    const r = rig();
    await up(r);
    const a = Buffer.alloc(80, 0x11);
    const b = Buffer.from([1, 2, 3, 4]);
    r.fake.sendPcm([{ channel: 1, data: a }, { channel: 4, data: b }, { channel: 9, data: b }]);
    await waitFor(() => r.events.pcm.length === 2, 'pcm');
    assert.deepEqual(r.events.pcm, [[1, a], [4, b]]);
    assert.equal(r.card.counters.pcmDropped, 1);
    assert.match(r.events.warnings[0] ?? '', /channel 9 is not a channel of the card/);
    await r.card.stop();
  });

  it('PCM toward the card: writes of one turn travel in one multi-channel frame with their bytes; dropped when down', async () => {
    const r = rig();
    r.card.writePcm(1, Buffer.alloc(80));
    assert.equal(r.card.counters.pcmDropped, 1, 'dropped while disconnected');
    await up(r);
    for (let ch = 1; ch <= 4; ch++) r.card.writePcm(ch, Buffer.alloc(80, ch));
    r.card.writePcm(1, Buffer.alloc(80, 0x55));
    r.card.writePcm(7, Buffer.alloc(80));
    r.card.writePcm(2, Buffer.alloc(81));
    await waitFor(() => r.fake.receivedOf('pcm').length === 2, 'pcm frames');
    const frames = r.fake.receivedOf('pcm');
    assert.deepEqual(frames.map((f) => f.chunks.map((c) => c.channel)), [[1, 2, 3, 4], [1]]);
    assert.deepEqual(r.fake.pcmIn.get(1), Buffer.concat([Buffer.alloc(80, 1), Buffer.alloc(80, 0x55)]));
    assert.deepEqual(r.fake.pcmIn.get(3), Buffer.alloc(80, 3));
    assert.equal(r.card.counters.pcmDropped, 3);
    assert.deepEqual(r.fake.violations, []);
    await r.card.stop();
  });

  it('keepalive loss: link-down after keepaliveMissLimit silent intervals, then reconnect and link-up', async () => {
    const r = rig();
    await up(r);
    r.clock.advance(KEEPALIVE_MS);
    await settle();
    assert.ok(r.fake.receivedOf('keepalive').length >= 1, 'host sends keepalives');
    assert.equal(r.card.counters.keepalivesMissed, 0, 'the card answered');
    r.fake.answerKeepalives = false;
    for (let i = 0; i < MISS_LIMIT + 1 && r.card.state === 'up'; i++) {
      r.clock.advance(KEEPALIVE_MS);
      await settle();
    }
    assert.equal(r.card.state, 'disconnected');
    assert.equal(r.events.down[0], `no frame from the card for ${MISS_LIMIT} keepalive intervals of ${KEEPALIVE_MS} ms`);
    assert.equal(r.card.counters.keepalivesMissed, MISS_LIMIT);
    r.fake.answerKeepalives = true;
    r.clock.advance(10000);
    await waitFor(() => r.card.state === 'up', 'link up again');
    assert.equal(r.events.up, 2);
    assert.equal(r.card.counters.reconnects, 1);
    assert.equal(r.fake.sessions, 2);
    await r.card.stop();
  });

  it('port unplugged: link-down naming the port, pending commands fail, and it reconnects once the port opens again', async () => {
    const r = rig({ answerCommands: false });
    await up(r);
    const pending = r.card.command({ kind: 'off-hook', port: 1 });
    await waitFor(() => r.fake.receivedOf('hook-command').length === 1, 'command sent');
    r.binding.failOpens = 2;
    r.peer()?.unplug();
    await assert.rejects(pending, /off-hook on port 1: card link went down: port \/dev\/ttyFAKE0 closed/);
    assert.equal(r.card.state, 'disconnected');
    for (let i = 0; i < 3; i++) {
      r.clock.advance(10000);
      await settle();
    }
    await waitFor(() => r.card.state === 'up', 'link up again');
    assert.equal(r.binding.opens, 4);
    assert.equal(r.card.counters.reconnects, 3);
    await r.card.stop();
  });

  it('a card that says hello on attach and again in answer comes up once, without a flap', async () => {
    const r = rig({ helloOnAttach: true });
    await up(r);
    r.fake.sendEvent({ kind: 'ring-on', port: 1 });
    await waitFor(() => r.events.lines.length === 1, 'event after the hellos');
    assert.equal(r.events.up, 1);
    assert.deepEqual(r.events.down, []);
    assert.equal(r.fake.receivedOf('host-hello').length, 1);
    await r.card.stop();
  });

  it('a card-hello while up (card restarted) re-runs the handshake', async () => {
    const r = rig({ helloOnAttach: true });
    await up(r);
    r.fake.sendEvent({ kind: 'ring-on', port: 1 });
    await waitFor(() => r.events.lines.length === 1, 'event');
    r.fake.sendHello();
    await waitFor(() => r.events.up === 2, 'second link-up');
    assert.deepEqual(r.events.down, ['card restarted: card-hello while up']);
    assert.equal(r.fake.receivedOf('host-hello').length, 2);
    await r.card.stop();
  });

  it('counts garbage, corrupted frames, lost frames and wrong-direction messages, and keeps working', async () => {
    const r = rig();
    await up(r);
    const good = encodeFrame({ type: 'line-event', event: { kind: 'ring-on', port: 1 } }, 40);
    const bad = Buffer.from(good);
    bad[10] = (bad[10] ?? 0) ^ 0x01;
    r.fake.sendRaw(Buffer.concat([Buffer.from('noise!'), bad, good]));
    r.fake.send({ type: 'hook-command', requestId: 1, command: { kind: 'on-hook', port: 1 } });
    r.fake.sendEvent({ kind: 'ring-off', port: 1 });
    await waitFor(() => r.events.lines.length === 2, 'events after garbage');
    const c = r.card.counters;
    assert.equal(c.crcErrors, 1);
    assert.ok(c.resyncBytesSkipped >= 6 + bad.length - 1);
    assert.equal(c.malformedFrames, 1);
    assert.ok(c.framesLost > 0, 'the injected seq 40 leaves a gap');
    assert.ok(r.events.warnings.includes('card sent hook-command, which only the host sends'));
    await r.card.stop();
  });

  it('D-channel frames both ways and the counters report', async () => {
    const r = rig({ hello: { spans: [{ span: 1, type: 'E1', firstChannel: 5, channels: 30 }] } });
    await up(r);
    const got: [number, Buffer][] = [];
    r.card.linkEvents.on('dchan', (s, d) => got.push([s, d]));
    const counters: unknown[] = [];
    r.card.linkEvents.on('counters', (c) => counters.push(c));
    assert.equal(r.card.sendDchan(1, Buffer.from([0x00, 0x01, 0x7f])), true);
    r.fake.send({ type: 'dchan', span: 1, data: Buffer.from([0x02, 0x01, 0x01, 0x10]) });
    assert.equal(r.card.requestCounters(), true);
    await waitFor(() => got.length === 1 && counters.length === 1 && r.fake.dchanIn.length === 1, 'dchan and counters');
    assert.deepEqual(got[0], [1, Buffer.from([0x02, 0x01, 0x01, 0x10])]);
    assert.deepEqual(r.fake.dchanIn[0], { span: 1, data: Buffer.from([0x00, 0x01, 0x7f]) });
    assert.equal(r.card.cardCounters?.spans[0]?.slips, 1);
    await r.card.stop();
  });

  it('stop(): fails pending commands, closes the port and leaves no timer armed', async () => {
    const r = rig({ answerCommands: false });
    await up(r);
    const pending = r.card.command({ kind: 'off-hook', port: 1 });
    await r.card.stop();
    await assert.rejects(pending, /card link went down: stopped/);
    assert.equal(r.card.state, 'disconnected');
    assert.equal(r.clock.pending, 0);
    assert.equal(r.binding.current?.isOpen, false);
    assert.deepEqual(r.fake.violations, []);
  });

  it('refuses options without a path or socket, naming what was expected', () => {
    assert.throws(() => new SerialCard({ transport: 'socket', socket: '', baudRate: 1, keepaliveMs: 1, keepaliveMissLimit: 2, reconnectMinMs: 1, reconnectMaxMs: 2, log: nullLogger }), /card socket is empty, expected unix:\/path or tcp:host:port/);
  });
});
