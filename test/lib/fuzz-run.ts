/**
 * The million-input fuzz loop (test/fuzz/**, `npm run test:fuzz`, issues #4 #5 #7): drives a
 * fast-check property for a fixed number of inputs with a fixed seed and prints one figures line
 * that scripts/fuzz-run.ts collects into its summary table:
 *
 *   `      <name>: <runs> inputs in <s> s (<n> inputs/s), seed <seed>, no crash`
 *
 * Cost: a rejected input throws a TonewallError, and capturing its stack trace (more so with
 * --enable-source-maps, which .mocharc sets) was half of the time of the media runs. The loop runs
 * with `Error.stackTraceLimit = 0`; the properties' checks are unchanged (same arbitraries, same
 * assertions, `instanceof TonewallError`, non-empty message). On a failure the failing input is
 * replayed with stack traces on (`seed` + `path`) and shrunk, so the report carries the error with
 * its stack, the seed, the path and the shrunk input (put those in the matching unit test).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TonewallError } from '../../hw/base/errors';

/** Inputs per run: 1,000,000 unless TW_FUZZ_RUNS says otherwise. */
export const FUZZ_RUNS = Number(process.env['TW_FUZZ_RUNS'] ?? 1_000_000);

export interface FuzzFigures {
  name: string;
  runs: number;
  seed: number;
  wallMs: number;
  inputsPerS: number;
}

/**
 * A rejection the fuzz runs accept: a TonewallError with an E-prefixed code (`code` when given) and
 * a message that names the fault in words (3 or more, at most 400 characters: "Q.931 protocol
 * discriminator 0xe0 is not 0x08", never "invalid" or a dump of the input).
 */
export function assertClearRejection(err: unknown, code?: string): void {
  if (!(err instanceof TonewallError)) throw err;
  if (code !== undefined) assert.equal(err.code, code);
  else assert.match(err.code, /^E[A-Z0-9_]+$/);
  const words = err.message.trim().split(/\s+/).length;
  assert.ok(words >= 3 && err.message.length <= 400, `${err.code} message does not name the fault: ${JSON.stringify(err.message.slice(0, 420))}`);
}

type AnyProperty<T extends [unknown, ...unknown[]]> = fc.IPropertyWithHooks<T> | fc.IAsyncPropertyWithHooks<T>;

function report(name: string, runs: number, seed: number, startNs: bigint): FuzzFigures {
  const wallMs = Math.max(1, Number(process.hrtime.bigint() - startNs) / 1e6);
  const inputsPerS = Math.round((runs * 1000) / wallMs);
  // eslint-disable-next-line no-console -- the figures line scripts/fuzz-run.ts parses
  console.log(`      ${name}: ${runs} inputs in ${(wallMs / 1000).toFixed(1)} s (${inputsPerS} inputs/s), seed ${seed}, no crash`);
  return { name, runs, seed, wallMs: Math.round(wallMs), inputsPerS };
}

/**
 * Runs `property` `runs` times from `seed` with stack capture off; throws fast-check's report
 * (replayed with stacks on, shrunk) for the first failing input. Sync and async properties alike.
 */
export async function runFuzz<T extends [unknown, ...unknown[]]>(name: string, property: AnyProperty<T>, seed: number, runs = FUZZ_RUNS): Promise<FuzzFigures> {
  const startNs = process.hrtime.bigint();
  const limit = Error.stackTraceLimit;
  let failed: fc.RunDetails<T> | undefined;
  Error.stackTraceLimit = 0;
  try {
    const details = property.isAsync()
      ? await fc.check(property as fc.IAsyncPropertyWithHooks<T>, { numRuns: runs, seed, endOnFailure: true })
      : fc.check(property as fc.IPropertyWithHooks<T>, { numRuns: runs, seed, endOnFailure: true });
    if (details.failed) failed = details;
  } finally {
    Error.stackTraceLimit = limit;
  }
  if (failed !== undefined) await replay(property, failed);
  return report(name, runs, seed, startNs);
}

/** Re-runs the failing input with stacks on and shrinks it; throws fast-check's report. */
async function replay<T extends [unknown, ...unknown[]]>(property: AnyProperty<T>, details: fc.RunDetails<T>): Promise<never> {
  const params = { seed: details.seed, path: details.counterexamplePath ?? undefined, includeErrorInReport: true };
  if (property.isAsync()) await fc.assert(property as fc.IAsyncPropertyWithHooks<T>, params);
  else fc.assert(property as fc.IPropertyWithHooks<T>, params);
  // The replay passed: the failure depended on state left by earlier inputs; report it as found.
  throw new Error(failureText(details));
}

function failureText<T>(details: fc.RunDetails<T>): string {
  return `fuzz failure (seed ${details.seed}, path ${details.counterexamplePath ?? '?'}; did not fail again on replay alone): ${fc.stringify(details.counterexample)}\n${String(details.errorInstance)}`;
}
