import assert from 'node:assert/strict';
import { checkTransition, reconnectDelayMs } from '../../../hw/card/link-state';
import { PcmBatcher } from '../../../hw/card/pcm-batcher';
import { formatSocketAddress, parseSocketAddress } from '../../../hw/card/socket-address';
import { Waitress } from '../../../hw/card/waitress';
import type { PcmMessage } from '../../../hw/link/messages';
import { ManualClock } from '../../lib/manual-clock';

describe('card link state table', () => {
  it('allows the documented transitions and names both states for an illegal one', () => {
    checkTransition('disconnected', 'connecting');
    checkTransition('up', 'handshaking');
    assert.throws(() => checkTransition('disconnected', 'up'), /illegal card link transition disconnected → up, expected disconnected → connecting \| disconnected/);
    assert.throws(() => checkTransition('connecting', 'up'), /connecting → up/);
  });

  it('reconnect delay doubles from min to max with jitter in [d/2, d]', () => {
    assert.equal(reconnectDelayMs(1, 250, 10000, () => 0.999999), 250);
    assert.equal(reconnectDelayMs(1, 250, 10000, () => 0), 125);
    assert.equal(reconnectDelayMs(3, 250, 10000, () => 0.999999), 1000);
    assert.equal(reconnectDelayMs(20, 250, 10000, () => 0.999999), 10000);
    assert.equal(reconnectDelayMs(20, 250, 10000, () => 0), 5000);
    assert.equal(reconnectDelayMs(1000, 250, 10000, () => 0.5), 7500);
  });
});

describe('Waitress (request/reply by id)', () => {
  it('gives distinct ids, settles by id, and ignores a reply nobody waits for', async () => {
    const w = new Waitress(new ManualClock());
    const a = w.arm('a', 1000);
    const b = w.arm('b', 1000);
    assert.notEqual(a.requestId, b.requestId);
    assert.equal(w.settle({ type: 'command-result', requestId: b.requestId, status: 'busy', detail: 'line busy' }), true);
    await assert.rejects(b.reply, /b: card answered busy \(line busy\), expected ok/);
    assert.equal(w.settle({ type: 'command-result', requestId: a.requestId, status: 'ok', detail: '' }), true);
    await a.reply;
    assert.equal(w.settle({ type: 'command-result', requestId: a.requestId, status: 'ok', detail: '' }), false);
    assert.equal(w.outstanding, 0);
  });

  it('times out naming the request, and failAll rejects everything outstanding', async () => {
    const clock = new ManualClock();
    const w = new Waitress(clock);
    const a = w.arm('off-hook on port 1', 500);
    const b = w.arm('dial on port 2 (3 digits)', 5000);
    clock.advance(500);
    await assert.rejects(a.reply, /off-hook on port 1: no reply from the card within 500 ms/);
    w.failAll('link down');
    await assert.rejects(b.reply, /dial on port 2 \(3 digits\): link down/);
    assert.equal(clock.pending, 0);
  });

  it('wraps request ids within 1..65535 and skips ids still in use', () => {
    const w = new Waitress(new ManualClock());
    const first = w.arm('x', 1000);
    void first.reply.catch(() => undefined);
    let last = first.requestId;
    for (let i = 0; i < 65535; i++) {
      const r = w.arm('y', 1000);
      void r.reply.catch(() => undefined);
      w.settle({ type: 'command-result', requestId: r.requestId, status: 'ok', detail: '' });
      assert.ok(r.requestId >= 1 && r.requestId <= 65535);
      assert.notEqual(r.requestId, first.requestId);
      last = r.requestId;
    }
    assert.ok(last > 0);
    w.failAll('done');
  });
});

describe('PcmBatcher', () => {
  it('batches one turn into one frame, keeps per-channel order, and splits over 48 chunks', () => {
    const out: PcmMessage[] = [];
    const queued: (() => void)[] = [];
    const b = new PcmBatcher((m) => out.push(m), (fn) => queued.push(fn));
    for (let ch = 1; ch <= 50; ch++) b.add(ch, Buffer.alloc(80, ch));
    b.add(50, Buffer.alloc(40, 0xaa));
    for (const fn of queued) fn();
    assert.deepEqual(out.map((m) => m.chunks.length), [48, 2, 1]);
    assert.deepEqual(out.map((m) => m.tdmSample), [0, 80, 160]);
    assert.deepEqual(out[2]?.chunks[0]?.data, Buffer.alloc(40, 0xaa));
  });
});

describe('card socket addresses', () => {
  it('parses unix and tcp addresses and names what is wrong with a bad one', () => {
    assert.deepEqual(parseSocketAddress('unix:/run/tonewall/card.sock'), { kind: 'unix', path: '/run/tonewall/card.sock' });
    assert.deepEqual(parseSocketAddress('tcp:127.0.0.1:7001'), { kind: 'tcp', host: '127.0.0.1', port: 7001 });
    assert.equal(formatSocketAddress(parseSocketAddress('tcp:[::1]:7001')), 'tcp:[::1]:7001');
    assert.throws(() => parseSocketAddress('tcp:127.0.0.1:70000'), /'tcp:127.0.0.1:70000' is not tcp:host:port with port 1..65535/);
    assert.throws(() => parseSocketAddress('/dev/ttyACM0'), /no known scheme, expected unix:\/path or tcp:host:port/);
    assert.throws(() => parseSocketAddress('unix:'), /empty path/);
  });
});
