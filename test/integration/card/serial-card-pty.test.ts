import assert from 'node:assert/strict';
import type { SerialPortStream } from '@serialport/stream';
import { nullLogger } from '../../../hw/base/logger';
import { SerialCard } from '../../../hw/card/serial-card';
import type { LineEvent } from '../../../hw/card/types';
import { encodeFrame } from '../../../hw/link/codec';
import { FakeCard } from '../../lib/link-fake-card';
import { closePort, openPtyPeer, startPtyPair, waitUntil, type PtyPair } from '../../lib/link-pty';
import { makeTempDir, requireBinary } from '../../lib/sim-env';

describe('SerialCard over a real pty (socat) against a scripted card peer', function () {
  this.timeout(20000);
  let dir: ReturnType<typeof makeTempDir>;
  let pty: PtyPair;
  let fake: FakeCard;
  let peer: SerialPortStream;
  let card: SerialCard;
  const lines: LineEvent[] = [];
  const pcm: [number, Buffer][] = [];
  const downs: string[] = [];
  let ups = 0;

  before(function () {
    requireBinary(this, 'socat');
  });

  beforeEach(async () => {
    dir = makeTempDir('card-pty');
    pty = await startPtyPair(dir.path);
    fake = new FakeCard({ hello: { spans: [{ span: 1, type: 'E1', firstChannel: 5, channels: 30 }] } });
    peer = await openPtyPeer(pty.cardPath, fake);
    lines.length = 0;
    pcm.length = 0;
    downs.length = 0;
    ups = 0;
    card = new SerialCard({ path: pty.hostPath, baudRate: 921600, keepaliveMs: 200, keepaliveMissLimit: 5, reconnectMinMs: 50, reconnectMaxMs: 200, log: nullLogger });
    card.on('line', (e) => lines.push(e));
    card.on('pcm', (c, d) => pcm.push([c, d]));
    card.on('link-down', (r) => downs.push(r));
    card.on('link-up', () => ups++);
    await card.start();
    await waitUntil(() => card.state === 'up', 'link up over the pty');
  });

  afterEach(async () => {
    await card.stop();
    await closePort(peer);
    await pty.stop();
    dir.cleanup();
  });

  it('handshakes, passes line events, and runs commands with their results', async () => {
    assert.equal(card.info?.serial, 'SN000123');
    assert.deepEqual(fake.receivedOf('host-hello').map((h) => [h.protocolMin, h.protocolMax]), [[1, 1]]);
    fake.sendEvent({ kind: 'ring-on', port: 2 });
    fake.sendEvent({ kind: 'caller-id', port: 2, number: '5551234567', name: 'TONEWALL DEMO' });
    fake.sendEvent({ kind: 'span-alarm', span: 1, alarms: ['AIS'] });
    await waitUntil(() => lines.length === 3, 'three line events');
    assert.deepEqual(lines[1], { kind: 'caller-id', port: 2, number: '5551234567', name: 'TONEWALL DEMO' });
    await card.command({ kind: 'off-hook', port: 2 });
    await assert.rejects(card.command({ kind: 'flash', port: 2, durationMs: 3000 }), /flash on port 2: card answered bad-argument/);
    await card.configureSpan({ span: 1, lineCode: 'hdb3', framing: 'crc4', signaling: 'ccs', clockSource: 'line' });
    await waitUntil(() => lines.length === 4, 'hook-state confirmation');
    assert.deepEqual(lines[3], { kind: 'hook-state', port: 2, offHook: true });
    assert.deepEqual(fake.violations, []);
  });

  it('carries PCM both ways with exact bytes, for analog ports and a full E1', async () => {
    const pattern = (ch: number, i: number) => Buffer.from(Array.from({ length: 80 }, (_v, k) => (ch * 31 + i * 7 + k) & 0xff));
    const channels = [1, 2, 3, 4, ...Array.from({ length: 30 }, (_v, i) => 5 + i)];
    for (let i = 0; i < 10; i++) {
      for (const ch of channels) card.writePcm(ch, pattern(ch, i));
      await new Promise<void>((r) => setImmediate(r));
    }
    await waitUntil(() => channels.every((ch) => (fake.pcmIn.get(ch)?.length ?? 0) === 800), 'host PCM at the card');
    for (const ch of channels) assert.deepEqual(fake.pcmIn.get(ch), Buffer.concat(Array.from({ length: 10 }, (_v, i) => pattern(ch, i))), `channel ${ch}`);
    for (let i = 0; i < 10; i++) fake.sendPcm(channels.map((ch) => ({ channel: ch, data: pattern(ch + 100, i) })), i * 80);
    await waitUntil(() => pcm.length === channels.length * 10, 'card PCM at the host');
    for (const ch of channels) {
      const got = Buffer.concat(pcm.filter(([c]) => c === ch).map(([, d]) => d));
      assert.deepEqual(got, Buffer.concat(Array.from({ length: 10 }, (_v, i) => pattern(ch + 100, i))), `channel ${ch}`);
    }
    assert.equal(card.counters.pcmDropped, 0);
    assert.deepEqual(fake.violations, []);
  });

  it('counts and skips garbage and truncated frames on the wire, and resynchronises', async () => {
    const before = card.counters;
    const truncated = encodeFrame({ type: 'pcm', tdmSample: 0, chunks: [{ channel: 1, data: Buffer.alloc(80, 0x7f) }] }, 0);
    fake.sendRaw(Buffer.from('\x00\xff line noise \xa5\xa5\x5a', 'latin1'));
    fake.sendRaw(truncated.subarray(0, 50));
    fake.sendEvent({ kind: 'ring-on', port: 1 });
    fake.sendRaw(Buffer.from([0xa5, 0x5a, 0x20, 0, 0, 9, 0, 0x13]));
    fake.sendEvent({ kind: 'ring-off', port: 1 });
    await waitUntil(() => lines.length === 2, 'events after the garbage');
    assert.deepEqual(lines.map((e) => e.kind), ['ring-on', 'ring-off']);
    const after = card.counters;
    assert.ok(after.crcErrors > before.crcErrors, 'the truncated frame failed its CRC');
    assert.ok(after.resyncBytesSkipped - before.resyncBytesSkipped >= 50, 'garbage and the truncated frame were skipped');
    assert.equal(card.state, 'up');
  });

  it('keepalive loss: link-down, then reconnect over the same pty and link-up', async () => {
    fake.answerKeepalives = false;
    await waitUntil(() => downs.length === 1, 'link-down after silent keepalive intervals');
    assert.match(downs[0] ?? '', /^no frame from the card for 5 keepalive intervals of 200 ms$/);
    assert.ok(card.counters.keepalivesMissed >= 5);
    fake.answerKeepalives = true;
    await waitUntil(() => ups === 2 && card.state === 'up', 'link-up after reconnect');
    assert.ok(card.counters.reconnects >= 1);
    await card.command({ kind: 'on-hook', port: 1 });
    assert.ok(fake.receivedOf('host-hello').length >= 2);
  });
});
