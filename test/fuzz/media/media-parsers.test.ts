/**
 * Fuzzing the media parsers (DESIGN.md §7, issue #4 evidence): 1,000,000 inputs each (TW_FUZZ_RUNS
 * to change) with fixed seeds, `npm run test:fuzz`. Properties and generators: test/lib/media-fuzz.ts.
 * Prints inputs/s per parser; the loop (test/lib/fuzz-run.ts) runs with stack capture off.
 */
import type fc from 'fast-check';
import { FUZZ_RUNS, runFuzz } from '../../lib/fuzz-run';
import { eventProperty, rtcpProperty, rtpProperty, sdpProperty, srtpProperty } from '../../lib/media-fuzz';

const cases = [
  { name: 'RTP decodeRtp', property: rtpProperty, seed: 5101 },
  { name: 'RTCP decodeRtcpCompound', property: rtcpProperty, seed: 5102 },
  { name: 'RFC 4733 decodeTelephoneEvents', property: eventProperty, seed: 5103 },
  { name: 'SDP parseAnswer + answerOffer', property: sdpProperty, seed: 5104 },
  { name: 'SRTP/SRTCP unprotect', property: srtpProperty, seed: 5105 },
] as const;

describe('fuzz: media parsers', function () {
  this.timeout(1_800_000);
  for (const c of cases) {
    it(`${FUZZ_RUNS} inputs: ${c.name} returns or throws a clear TonewallError`, async () => {
      await runFuzz(c.name, c.property as fc.IPropertyWithHooks<[unknown, ...unknown[]]>, c.seed);
    });
  }
});
