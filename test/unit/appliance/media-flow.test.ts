/**
 * The watchdog's media check (controller/app/media-flow.ts) with a manual clock and a fake media
 * factory: an active call whose leg stops receiving card audio is reported once the gap passes;
 * flowing, inactive (ringing) and closed calls are not.
 */
import assert from 'node:assert/strict';
import { MediaFlow } from '../../../controller/app/media-flow';
import type { MediaFactory, MediaLeg } from '../../../controller/call/ports';
import { ManualClock } from '../../lib/manual-clock';

function fakeFactory(chunks: number[]): MediaFactory {
  return {
    open: () =>
      Promise.resolve({
        sdpOffer: 'v=0',
        applyAnswer: () => ({ codec: 'PCMU' }),
        fromCard: (pcm: Buffer) => void chunks.push(pcm.length),
        toCard: () => Buffer.alloc(80),
        stats: () => ({ packetsSent: 0, packetsReceived: 0 }),
        close: () => undefined,
      } satisfies MediaLeg),
  };
}

describe('app: media flow (watchdog media check)', () => {
  it('reports an active call whose card audio stopped, after the gap, and only active ones', async () => {
    const clock = new ManualClock();
    const flow = new MediaFlow(clock);
    const chunks: number[] = [];
    const factory = flow.watch(fakeFactory(chunks));
    const a = await factory.open({ callId: 'a', cardLaw: 'ulaw' });
    const b = await factory.open({ callId: 'b', cardLaw: 'ulaw' });
    await factory.open({ callId: 'ringing', cardLaw: 'ulaw' });
    const active = new Set(['a', 'b']);
    for (let i = 0; i < 500; i++) {
      clock.advance(10);
      a.fromCard(Buffer.alloc(80));
      if (i < 100) b.fromCard(Buffer.alloc(80));
    }
    assert.equal(chunks.length, 600, 'the wrapped leg still processes every chunk');
    assert.deepEqual(flow.stalled((id) => active.has(id), 5000), []);
    clock.advance(1500);
    assert.deepEqual(flow.stalled((id) => active.has(id), 5000), ['b']);
    b.close();
    assert.deepEqual(flow.stalled((id) => active.has(id), 5000), [], 'a closed leg is forgotten');
    assert.equal(flow.legs, 2);
  });
});
