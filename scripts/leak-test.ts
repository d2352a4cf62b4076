/**
 * `npm run test:leak` (node dist/scripts/leak-test.js --payments 200): the leak test of issue #6 at
 * full size (docs/leak-test.md). Runs N payments through the whole appliance with the engine of
 * test/lib/leak-*.ts, scans every artifact, prints the figures and exits 0 only when there is no hit
 * and every payment completed as expected (1 otherwise, 2 on bad arguments or missing peers).
 *
 *   --payments N      payments (1–220, default 200)
 *   --stagger-ms MS   time between call starts (default 1000: about 20 calls at once on the E1's 30)
 *   --seed S          canary and caller seed (default 1)
 *   --speech-ms MS    talk before the keys (default 10000): the agent's pay.start must land in it
 *   --log-level L     appliance log level, debug or info (default debug)
 *   --keep            keep the run directory (artifacts, WAVs) for inspection
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { analyseRun, formatReport, reportPassed } from '../test/lib/leak-analyse';
import { removeRun, runLeakPayments } from '../test/lib/leak-run';

const PEERS = ['mosquitto', 'sipp', 'dumpcap', 'tshark', 'sox', 'multimon-ng', 'gcc', 'pkg-config', 'openssl'];

function missingPeers(): string[] {
  const missing = PEERS.filter((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0);
  if (!missing.includes('pkg-config') && spawnSync('pkg-config', ['--exists', 'spandsp']).status !== 0) missing.push('libspandsp-dev');
  return missing;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      payments: { type: 'string', default: '200' },
      'stagger-ms': { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      'speech-ms': { type: 'string', default: '10000' },
      'log-level': { type: 'string', default: 'debug' },
      keep: { type: 'boolean', default: false },
    },
  });
  const payments = Number(values.payments);
  const staggerMs = Number(values['stagger-ms']);
  const seed = Number(values.seed);
  const speechMs = Number(values['speech-ms']);
  const logLevel = values['log-level'];
  if (!Number.isInteger(payments) || payments < 1 || payments > 220) return usage(`--payments "${values.payments}" is not an integer in 1–220`);
  if (!Number.isInteger(staggerMs) || staggerMs < 100) return usage(`--stagger-ms "${values['stagger-ms']}" is not an integer ≥ 100`);
  if (!Number.isInteger(seed)) return usage(`--seed "${values.seed}" is not an integer`);
  if (!Number.isInteger(speechMs) || speechMs < 1000) return usage(`--speech-ms "${values['speech-ms']}" is not an integer ≥ 1000`);
  if (logLevel !== 'debug' && logLevel !== 'info') return usage(`--log-level "${logLevel}" is not debug or info`);
  const missing = missingPeers();
  if (missing.length > 0) {
    console.error(`leak test: missing peers: ${missing.join(', ')} (see test-peers.md §0)`);
    return 2;
  }
  const o = { payments, staggerMs, seed, speechMs, logLevel, sessionsTimeoutMs: 120_000, progress: (line: string) => console.log(line) } as const;
  const t0 = Date.now();
  console.log(`leak test: ${payments} payments, calls ${staggerMs} ms apart, seed ${seed}`);
  const run = await runLeakPayments(o);
  let passed = false;
  try {
    const report = analyseRun(run, o);
    for (const line of formatReport(report)) console.log(line);
    passed = reportPassed(report);
    console.log(`total wall time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log(passed ? 'PASS: zero hits, every payment approved' : 'FAIL');
  } finally {
    if (values.keep) console.log(`kept ${run.dir} and ${run.brokerDir}`);
    else removeRun(run);
  }
  return passed ? 0 : 1;
}

function usage(problem: string): number {
  console.error(`leak test: ${problem}\nusage: node dist/scripts/leak-test.js [--payments N] [--stagger-ms MS] [--seed S] [--speech-ms MS] [--log-level debug|info] [--keep]`);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`leak test: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
