/**
 * What `npm run bench:sip` needs of the simulated card: the e1-pri-4 model (4 E1 spans, 120 B
 * channels, hw/sim/sim-pri-models.ts) and one 10 ms TDM period of more channels than fit one pcm
 * frame (docs/card-link.md §5: 4,096-byte payload, 49 chunks of 80 bytes) arriving whole, in frames
 * the host decodes.
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../hw/base/logger';
import { MAX_PAYLOAD_BYTES } from '../../hw/link/messages';
import { SimCard } from '../../hw/sim/sim-card';
import { priModel } from '../../hw/sim/sim-pri-models';
import { ManualClock } from '../lib/manual-clock';
import { duplexPair, flush, TestHost } from '../lib/sim-host';

describe('bench:sip simulated card', () => {
  it('e1-pri-4: four E1 spans of 30 A-law channels on TDM channels 1..120, ETSI', () => {
    const m = priModel('e1-pri-4');
    assert.ok(m);
    assert.deepEqual(
      m.spans.map((s) => [s.span, s.type, s.firstChannel, s.channels]),
      [
        [1, 'E1', 1, 30],
        [2, 'E1', 31, 30],
        [3, 'E1', 61, 30],
        [4, 'E1', 91, 30],
      ],
    );
    assert.equal(m.law, 'alaw');
    assert.equal(m.variant.name, 'etsi');
    assert.equal(m.helloModel, 'TW-4E1PRI-SIM');
  });

  it('a 10 ms period of 60 active channels reaches the host whole, split over pcm frames under the payload limit', async () => {
    const clock = new ManualClock();
    const card = new SimCard({ log: nullLogger, clock, keepaliveMs: 1000, keepaliveMissLimit: 3, seed: 5, portCount: 60 });
    const pair = duplexPair();
    const host = new TestHost(pair.host);
    card.start();
    card.attach(pair.card);
    try {
      host.hello();
      await flush();
      // An idle off-hook line hears dial tone: every port then carries audio each tick.
      for (let port = 1; port <= 60; port++) host.command({ kind: 'off-hook', port });
      await flush(20);
      const before = host.of('pcm').length;
      clock.advance(10);
      await flush(20);
      const frames = host.of('pcm').slice(before);
      assert.ok(frames.length >= 2, `pcm frames for one period: ${frames.length}`);
      const channels = frames.flatMap((f) => f.chunks.map((c) => c.channel)).sort((a, b) => a - b);
      assert.deepEqual(channels, Array.from({ length: 60 }, (_, i) => i + 1));
      for (const f of frames) {
        assert.ok(5 + f.chunks.reduce((n, c) => n + 2 + c.data.length, 0) <= MAX_PAYLOAD_BYTES);
        assert.equal(f.tdmSample, frames[0]?.tdmSample, 'one period: one TDM sample count');
      }
      assert.equal(host.decoder.stats.crcErrors, 0);
    } finally {
      card.stop();
    }
  });
});
