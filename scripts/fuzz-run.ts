/**
 * `npm run test:fuzz` (node dist/scripts/fuzz-run.js): the million-input fuzz runs (issues #4 #5 #7)
 * spread over the cores. Every `*.test.js` under dist/test/fuzz is picked up (new files join on
 * their own); each file runs in its own mocha process, two at a time by default, longest first (the
 * expected seconds below, a new file counts 60 s) from a shared queue, so the cores stay busy.
 * A file's output is printed whole when it ends; then a summary table (file, run, inputs, inputs/s,
 * wall) and the total wall time. Exit 0 only when every file passed.
 *
 * Hang protection: a parser stuck in a synchronous loop cannot be interrupted by mocha's timeout,
 * so a file still running after --file-timeout-s (default 900 s) is killed and reported as hung
 * (its seeds are fixed: rerun the file alone to find the input).
 *
 *   --jobs N             processes at once (default: the number of CPUs, at most 2 on CI's machine)
 *   --file-timeout-s S   watchdog per file (default 900)
 *   --root DIR           where to look for fuzz files (default dist/test/fuzz)
 *   [files…]             run only these files
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** Expected seconds per file on one idle core of CI's machine (ordering only; measured 2026-11-22). */
const EXPECTED_S: Readonly<Record<string, number>> = {
  'fleet/config-desired.test.js': 140,
  'fleet/rpc-request.test.js': 90,
  'media/media-parsers.test.js': 80,
  'isdn/q921-q931-decoders.test.js': 20,
  'sip/trunk-parsers.test.js': 15,
  'pstn/caller-id-decoder.test.js': 12,
};

/** A file not in the table (a new one) is placed as if it took this long. */
const UNKNOWN_FILE_S = 60;

interface Figure {
  run: string;
  inputs: number;
  inputsPerS: number;
  wallS: number;
}

interface FileResult {
  file: string;
  status: 'passed' | 'failed' | 'hung';
  wallS: number;
  figures: Figure[];
}

/** `      <name>: <runs> inputs in <s> s (<n> inputs/s), seed …` (test/lib/fuzz-run.ts, test/lib/fleet-fuzz.ts). */
const FIGURE = /^\s*(.+?): (\d+) inputs in ([\d.]+) s \((\d+) inputs\/s\)/;

function findFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findFiles(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

/** Process groups still running, killed with the runner on SIGINT/SIGTERM. */
const running = new Set<number>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const pid of running) process.kill(-pid, 'SIGKILL');
    process.exit(130);
  });
}

function runFile(file: string, root: string, timeoutS: number): Promise<FileResult> {
  const mocha = resolve('node_modules/mocha/bin/mocha.js');
  const started = process.hrtime.bigint();
  return new Promise((done) => {
    // Own process group: mocha re-spawns node (for --enable-source-maps); the watchdog kills both.
    const child = spawn(process.execPath, [mocha, '--timeout', String(timeoutS * 1000), file], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid !== undefined) running.add(child.pid);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    let hung = false;
    const watchdog = setTimeout(() => {
      hung = true;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(watchdog);
      if (child.pid !== undefined) running.delete(child.pid);
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      const name = relative(root, file);
      const figures: Figure[] = [];
      for (const line of output.split('\n')) {
        const m = FIGURE.exec(line);
        if (m) figures.push({ run: m[1] ?? '?', inputs: Number(m[2]), wallS: Number(m[3]), inputsPerS: Number(m[4]) });
      }
      const status = hung ? 'hung' : code === 0 ? 'passed' : 'failed';
      console.log(`\n=== ${name}: ${status} in ${wallS.toFixed(1)} s${hung ? ` (killed by the ${timeoutS} s watchdog: a hang)` : ''}\n${output.trimEnd()}`);
      done({ file: name, status, wallS, figures });
    });
  });
}

function table(results: FileResult[], totalS: number): string {
  const rows: string[][] = [['file', 'run', 'inputs', 'inputs/s', 'wall s']];
  for (const r of results) {
    if (r.figures.length === 0) rows.push([r.file, `(${r.status}, no figures)`, '', '', r.wallS.toFixed(1)]);
    r.figures.forEach((f, i) => rows.push([i === 0 ? r.file : '', f.run, String(f.inputs), String(f.inputsPerS), f.wallS.toFixed(1)]));
    if (r.figures.length > 0) rows.push(['', `file total (${r.status})`, String(r.figures.reduce((a, f) => a + f.inputs, 0)), '', r.wallS.toFixed(1)]);
  }
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length))) ?? [];
  const fmt = (row: string[]): string => row.map((cell, c) => (c >= 2 ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0))).join('  ');
  return [fmt(rows[0] ?? []), ...rows.slice(1).map(fmt), `total wall ${totalS.toFixed(1)} s`].join('\n');
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { jobs: { type: 'string' }, 'file-timeout-s': { type: 'string', default: '900' }, root: { type: 'string', default: 'dist/test/fuzz' } },
  });
  const root = resolve(values.root);
  const jobs = Number(values.jobs ?? Math.min(2, availableParallelism()));
  const timeoutS = Number(values['file-timeout-s']);
  if (!Number.isInteger(jobs) || jobs < 1 || !(timeoutS > 0)) {
    console.error(`fuzz-run: --jobs ${values.jobs ?? '?'} must be a positive integer and --file-timeout-s ${values['file-timeout-s']} positive`);
    return 2;
  }
  const files = positionals.length > 0 ? positionals.map((p) => resolve(p)) : findFiles(root);
  const expected = (f: string): number => EXPECTED_S[relative(root, f)] ?? UNKNOWN_FILE_S;
  const queue = [...files].sort((a, b) => expected(b) - expected(a));
  console.log(`fuzz-run: ${files.length} files, ${jobs} at once, TW_FUZZ_RUNS=${process.env['TW_FUZZ_RUNS'] ?? '1000000 (default)'}`);
  const started = process.hrtime.bigint();
  const results: FileResult[] = [];
  const worker = async (): Promise<void> => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) results.push(await runFile(f, root, timeoutS));
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const totalS = Number(process.hrtime.bigint() - started) / 1e9;
  results.sort((a, b) => a.file.localeCompare(b.file));
  console.log(`\nfuzz-run summary (${jobs} jobs)\n${table(results, totalS)}`);
  const bad = results.filter((r) => r.status !== 'passed');
  if (bad.length > 0) console.log(`fuzz-run: FAILED: ${bad.map((r) => `${r.file} (${r.status})`).join(', ')}`);
  return bad.length === 0 && results.length > 0 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
