/**
 * sipp for `npm run bench:sip` (test-peers.md §1): a UAC with rate control driving SIP → PSTN calls
 * (bench/sipp/uac-call.xml), and the built-in UAS answering PSTN → SIP calls. Each run has its own
 * directory; the verdict is sipp's `-trace_stat` file (cumulative SuccessfulCall / FailedCall of the
 * last row), not its screen.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { encode } from '../controller/media/g711';

export interface SippResult {
  exitCode: number;
  successful: number;
  failed: number;
  /** Wall time of the run, s. */
  elapsedS: number;
  output: string;
}

export interface SippUacOptions {
  dir: string;
  target: string;
  /** Called number (the request-URI user). */
  service: string;
  /** Calls started per second (-r with -rp 1000). */
  ratePerS: number;
  /** Most simultaneous calls (-l). */
  limit: number;
  /** Calls in all (-m). */
  total: number;
  /** Hold after the ACK, ms (-d). */
  holdMs: number;
  /** A call without an answer for this long fails (-recv_timeout). */
  recvTimeoutMs: number;
  /** Hard limit for the whole run (-timeout). */
  timeoutS: number;
}

/** Last row of a sipp `-trace_stat` CSV (';'-separated, header first) as column → value. */
export function lastStatRow(csv: string): Record<string, string> {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const head = (lines[0] ?? '').split(';');
  const last = (lines[lines.length - 1] ?? '').split(';');
  const row: Record<string, string> = {};
  head.forEach((h, i) => (row[h] = last[i] ?? ''));
  return row;
}

/** 6 s of A-law for sipp's rtp_stream (raw payload bytes, sent as they are): a two-tone mix that changes every 500 ms. */
export function writeBenchAudio(file: string): void {
  const n = 6 * 8000;
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const f = 300 + 100 * (Math.floor(i / 4000) % 6);
    pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * f * i) / 8000) + 3000 * Math.sin((2 * Math.PI * 2.7 * f * i) / 8000));
  }
  writeFileSync(file, encode('alaw', pcm));
}

function run(dir: string, args: string[], timeoutS: number): { child: ChildProcess; done: Promise<SippResult> } {
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const child = spawn('sipp', [...args, '-nostdin', '-trace_stat', '-stf', 'stat.csv', '-fd', '1', '-trace_err', '-timeout', `${timeoutS}s`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const done = new Promise<SippResult>((resolveRun) =>
    child.on('exit', (code) => {
      let row: Record<string, string> = {};
      try {
        row = lastStatRow(readFileSync(join(dir, 'stat.csv'), 'utf8'));
      } catch {
        // no stat file: sipp failed before its first call; counts stay 0
      }
      const errors = readdirSync(dir)
        .filter((f) => f.endsWith('_errors.log'))
        .map((f) => readFileSync(join(dir, f), 'utf8').slice(-3000))
        .join('\n');
      resolveRun({
        exitCode: code ?? -1,
        successful: Number(row['SuccessfulCall(C)'] ?? 0),
        failed: Number(row['FailedCall(C)'] ?? 0),
        elapsedS: (performance.now() - t0) / 1000,
        output: `${out.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g'), '').slice(-3000)}\n${errors}`,
      });
    }),
  );
  return { child, done };
}

/** Runs the bench UAC scenario once; resolves when sipp exits. */
export function runSippUac(o: SippUacOptions, audioFile: string, mediaPort: number): { child: ChildProcess; done: Promise<SippResult> } {
  mkdirSync(o.dir, { recursive: true });
  const scenario = readFileSync(resolve(__dirname, '../../bench/sipp/uac-call.xml'), 'utf8').split('@AUDIO@').join(audioFile);
  const file = join(o.dir, 'uac-call.xml');
  writeFileSync(file, scenario);
  const args = ['-sf', file, o.target, '-s', o.service, '-i', '127.0.0.1', '-mi', '127.0.0.1', '-mp', String(mediaPort)];
  args.push('-r', String(o.ratePerS), '-rp', '1000', '-l', String(o.limit), '-m', String(o.total), '-d', String(o.holdMs), '-recv_timeout', String(o.recvTimeoutMs));
  return run(o.dir, args, o.timeoutS);
}

/** The built-in UAS (180, 200, waits for BYE) with RTP echo, for PSTN → SIP calls; stop it with SIGTERM or -m. */
export function runSippUas(dir: string, port: number, mediaPort: number, total: number, timeoutS: number): { child: ChildProcess; done: Promise<SippResult> } {
  return run(dir, ['-sn', 'uas', '-i', '127.0.0.1', '-p', String(port), '-mi', '127.0.0.1', '-mp', String(mediaPort), '-rtp_echo', '-m', String(total)], timeoutS);
}
