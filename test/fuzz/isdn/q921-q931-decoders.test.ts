/**
 * Fuzzing the D-channel decoders (DESIGN.md §7): ≥ 1,000,000 inputs each for the Q.921 LAPD frame
 * decoder and the Q.931 message decoder, raw bytes and mutations of valid frames/messages, fixed
 * seeds (TW_FUZZ_RUNS to change), `npm run test:fuzz`. Each input decodes or throws a TonewallError
 * whose message names the fault (assertClearRejection); a decoded Q.931 message re-encodes without throwing.
 */
import fc from 'fast-check';
import { decodeLapdFrame } from '../../../controller/pstn/isdn/lapd-frame';
import { decodeQ931, encodeQ931 } from '../../../controller/pstn/isdn/q931-message';
import { setupIes } from '../../../controller/pstn/isdn/q931-setup';
import { SWITCH_VARIANTS } from '../../../controller/pstn/isdn/switch-variant';
import { assertClearRejection, FUZZ_RUNS, runFuzz } from '../../lib/fuzz-run';

function clear(fn: () => void): boolean {
  try {
    fn();
  } catch (err) {
    assertClearRejection(err);
  }
  return true;
}

/** A SETUP on a PRI (bearer capability, channel id, calling and called number, display) to mutate. */
const SETUP = encodeQ931({
  callRef: { length: 2, flag: false, value: 1 },
  type: 'SETUP',
  ies: setupIes({ called: '5551234', calling: '5559876', callingName: 'Alice', channel: 3, exclusive: true }, SWITCH_VARIANTS.etsi),
});
const SABME = Buffer.from('00017f', 'hex');
/** An I frame (SAPI 0, TEI 0, N(S) 0, N(R) 0) carrying the SETUP. */
const I_FRAME = Buffer.concat([Buffer.from('00010000', 'hex'), SETUP]);

function mutated(base: Buffer): fc.Arbitrary<Uint8Array> {
  return fc.array(fc.tuple(fc.nat(base.length + 4), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }).chain((edits) =>
    fc.nat(base.length + 2).map((cut) => {
      const b = Buffer.concat([base, Buffer.alloc(4)]).subarray(0, Math.max(0, Math.min(base.length + 4, cut + base.length / 2)));
      for (const [at, v] of edits) if (at < b.length) b[at] = v;
      return Uint8Array.from(b);
    }),
  );
}

describe('fuzz: Q.921 and Q.931 decoders', function () {
  this.timeout(1_800_000);

  it(`${FUZZ_RUNS} LAPD frames: decoded or a clear TonewallError`, async () => {
    await runFuzz('Q.921 LAPD frame decoder', fc.property(fc.oneof(fc.uint8Array({ maxLength: 270 }), mutated(SABME), mutated(I_FRAME)), (b) => clear(() => void decodeLapdFrame(b))), 921);
  });

  it(`${FUZZ_RUNS} Q.931 messages: decoded (and re-encodable) or a clear TonewallError`, async () => {
    await runFuzz(
      'Q.931 message decoder',
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 270 }), mutated(SETUP)), (b) =>
        clear(() => {
          const m = decodeQ931(b);
          clear(() => void encodeQ931(m));
        }),
      ),
      931,
    );
  });
});
