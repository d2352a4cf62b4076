/**
 * Fuzzing the caller ID decoders (DESIGN.md §7 "Every parser … no crash, no hang, a clear error"):
 * ≥ 1,000,000 FSK messages (raw and near-valid) and DTMF key strings with a fixed seed
 * (TW_FUZZ_RUNS to change), `npm run test:fuzz`. Each decodes or throws a TonewallError ECALLERID.
 */
import { FUZZ_RUNS, runFuzz } from '../../lib/fuzz-run';
import { callerIdProperty } from '../../lib/pstn-fuzz';

describe('fuzz: caller ID message decoders (SDMF/MDMF, DTMF)', function () {
  this.timeout(1_800_000);
  it(`${FUZZ_RUNS} inputs: decoded or a clear ECALLERID error, nothing else`, async () => {
    await runFuzz('caller ID decoders', callerIdProperty, 5005);
  });
});
