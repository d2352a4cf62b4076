/**
 * Fuzzing the caller ID decoders (DESIGN.md §7 "Every parser … no crash, no hang, a clear error"):
 * ≥ 1,000,000 FSK messages (raw and near-valid: test/lib/pstn-fuzz.ts callerIdBytes) and DTMF key
 * strings with a fixed seed (TW_FUZZ_RUNS to change), `npm run test:fuzz`. Each decodes or throws a
 * TonewallError ECALLERID whose message names the fault (assertClearRejection).
 */
import fc from 'fast-check';
import { decodeCallerIdMessage, decodeDtmfCallerId } from '../../../controller/dsp/caller-id-message';
import { assertClearRejection, FUZZ_RUNS, runFuzz } from '../../lib/fuzz-run';
import { callerIdBytes, dtmfKeys } from '../../lib/pstn-fuzz';

function decodesOrClearError(decode: () => unknown): void {
  try {
    decode();
  } catch (err) {
    assertClearRejection(err, 'ECALLERID');
  }
}

describe('fuzz: caller ID message decoders (SDMF/MDMF, DTMF)', function () {
  this.timeout(1_800_000);
  it(`${FUZZ_RUNS} inputs: decoded or a clear ECALLERID error, nothing else`, async () => {
    const property = fc.property(callerIdBytes, dtmfKeys, (bytes, keys) => {
      decodesOrClearError(() => decodeCallerIdMessage(bytes));
      decodesOrClearError(() => decodeDtmfCallerId(keys));
    });
    await runFuzz('caller ID decoders', property, 5005);
  });
});
