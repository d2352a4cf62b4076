/**
 * Generators and properties for the PSTN decoder fuzz runs (test/fuzz/pstn, test/fuzz/isdn) and their
 * short versions in npm test: raw bytes, and near-valid caller ID messages (valid checksum and length
 * byte over arbitrary parameters) so inputs reach past the framing checks.
 */
import fc from 'fast-check';
import { TonewallError } from '../../hw/base/errors';
import { decodeCallerIdMessage, decodeDtmfCallerId } from '../../controller/dsp/caller-id-message';

export const FUZZ_RUNS = Number(process.env['TW_FUZZ_RUNS'] ?? 1_000_000);

/** Runs `property` `runs` times with a fixed `seed` and prints the inputs/s figure. */
export function runFuzz<T extends [unknown, ...unknown[]]>(name: string, property: fc.IPropertyWithHooks<T>, seed: number, runs = FUZZ_RUNS): void {
  const startMs = Date.now();
  fc.assert(property, { numRuns: runs, seed, endOnFailure: true });
  const wallMs = Math.max(1, Date.now() - startMs);
  // eslint-disable-next-line no-console -- the figures the fuzz run reports
  console.log(`      ${name}: ${runs} inputs in ${(wallMs / 1000).toFixed(1)} s (${Math.round((runs * 1000) / wallMs)} inputs/s), seed ${seed}, no crash`);
}

function withSum(bytes: number[]): Uint8Array {
  const sum = bytes.reduce((a, b) => (a + b) & 0xff, 0);
  return Uint8Array.from([...bytes, (0x100 - sum) & 0xff]);
}

const param = fc.tuple(fc.oneof(fc.constantFrom(0x01, 0x02, 0x03, 0x04, 0x07, 0x08, 0x11), fc.integer({ min: 0, max: 255 })), fc.uint8Array({ maxLength: 24 }));

/** Caller ID message candidates: raw bytes, or a well-framed SDMF/MDMF with arbitrary content. */
export const callerIdBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(fc.constantFrom(0x04, 0x80, 0x06, 0x82), fc.array(param, { maxLength: 6 }), fc.boolean()).map(([type, params, lie]) => {
    const body = type === 0x04 ? params.flatMap(([, v]) => [...v]) : params.flatMap(([t, v]) => [t, v.length, ...v]);
    const framed = withSum([type, body.length & 0xff, ...body]);
    if (lie && framed.length > 3) framed[1] = ((framed[1] ?? 0) + 1) & 0xff;
    return framed;
  }),
  fc.tuple(fc.stringMatching(/^[0-9]{8}$/), fc.stringMatching(/^[0-9OP]{1,15}$/)).map(([dt, n]) => withSum([0x04, 8 + n.length, ...[...dt + n].map((c) => c.charCodeAt(0))])),
);

export const dtmfKeys: fc.Arbitrary<string> = fc.stringMatching(/^[0-9A-D*#]{0,24}$/);

/** Property: decodes or throws a TonewallError with code ECALLERID and a non-empty message. */
export function decodesOrClearError(decode: () => unknown): boolean {
  try {
    decode();
    return true;
  } catch (err) {
    if (!(err instanceof TonewallError) || err.code !== 'ECALLERID' || err.message.length === 0) throw err;
    return true;
  }
}

export const callerIdProperty = fc.property(callerIdBytes, dtmfKeys, (bytes, keys) => decodesOrClearError(() => decodeCallerIdMessage(bytes)) && decodesOrClearError(() => decodeDtmfCallerId(keys)));
