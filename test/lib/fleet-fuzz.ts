/**
 * Shared pieces of the fleet fuzz runs (test/fuzz/fleet): a runner that drives fast-check for a
 * fixed number of inputs with a fixed seed and prints inputs/s and wall time, and JSON-ish
 * generators that reach past `JSON.parse` into the decoders (near-valid objects with the real keys).
 */
import fc from 'fast-check';

export const FUZZ_RUNS = Number(process.env['TW_FUZZ_RUNS'] ?? 1_000_000);

export interface FuzzFigures {
  runs: number;
  wallMs: number;
  inputsPerS: number;
}

/** Runs `property` `runs` times with `seed`; prints and returns the figures. Rethrows fast-check's report. */
export async function runFuzz<T extends [unknown, ...unknown[]]>(name: string, property: fc.IAsyncPropertyWithHooks<T> | fc.IPropertyWithHooks<T>, seed: number, runs = FUZZ_RUNS): Promise<FuzzFigures> {
  const startMs = Date.now();
  if (property.isAsync()) await fc.assert(property as fc.IAsyncPropertyWithHooks<T>, { numRuns: runs, seed, endOnFailure: true });
  else fc.assert(property as fc.IPropertyWithHooks<T>, { numRuns: runs, seed, endOnFailure: true });
  const wallMs = Date.now() - startMs;
  const inputsPerS = Math.round((runs * 1000) / Math.max(1, wallMs));
  // eslint-disable-next-line no-console -- the figures the fuzz run reports
  console.log(`      ${name}: ${runs} inputs in ${(wallMs / 1000).toFixed(1)} s (${inputsPerS} inputs/s), seed ${seed}, no crash`);
  return { runs, wallMs, inputsPerS };
}

/** Any JSON-ish scalar, including the awkward ones. */
export const scalar = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('', '__proto__', 'constructor', '4111111111111111', '１２３', '\u0000', 'a'.repeat(300), '-1', '1e309'),
  fc.constantFrom(0, -1, 1, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER + 2, 1.5, 1e308),
);

/** Objects with keys drawn from `keys` (and a few strangers), values anything JSON-ish, nested. */
export function objectWithKeys(keys: readonly string[], depth = 2): fc.Arbitrary<Record<string, unknown>> {
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });
  const value: fc.Arbitrary<unknown> =
    depth <= 0
      ? scalar
      : fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.constant(null).chain(() => objectWithKeys(keys, depth - 1)) });
  return fc.dictionary(key, value, { maxKeys: 6 });
}

/** Bytes for a decoder: raw bytes, any JSON text, or near-valid JSON objects from `structured`, sometimes truncated. */
export function payloadBytes(structured: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    { weight: 6, arbitrary: structured.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    { weight: 1, arbitrary: fc.tuple(structured, fc.nat()).map(([v, cut]) => { const t = JSON.stringify(v) ?? ''; return Buffer.from(t.slice(0, cut % (t.length + 1))); }) },
  );
}
