/**
 * Running the real peers for SIP interop tests (test-peers.md §1, §6): sipp as a UAS and dumpcap
 * capturing loopback. A missing binary fails the test when CI is set, else skips it with a message.
 * Every peer runs in its own temp dir and is stopped by its pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** In a mocha `before`: skip (locally) or fail (CI) when a peer binary is missing. */
export function requirePeer(ctx: Mocha.Context, name: string): void {
  if (hasBinary(name)) return;
  if (process.env.CI) throw new Error(`${name} is not installed (CI installs it: see test-peers.md §0)`);
  ctx.skip();
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tonewall-${prefix}-`));
}

/** A UDP port free right now on 127.0.0.1 (even when `even`), found by binding port 0. */
export async function freeUdpPort(even = false): Promise<number> {
  for (;;) {
    const s = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)));
    await new Promise<void>((r) => s.close(() => r()));
    if (!even || port % 2 === 0) return port;
  }
}

export interface SippRun {
  child: ChildProcess;
  dir: string;
  sipPort: number;
  mediaPort: number;
  /** Resolves with sipp's exit code (0 = every call succeeded). */
  exit: Promise<number>;
  output(): string;
}

/** Starts a sipp UAS for one call on its own ports; resolves once the SIP port is bound. */
export async function startSippUas(opts: { scenario: { builtin: string } | { file: string }; rtpEcho?: boolean }): Promise<SippRun> {
  const dir = makeTempDir('sipp');
  const sipPort = await freeUdpPort();
  let mediaPort = await freeUdpPort(true);
  while (mediaPort === sipPort || mediaPort + 2 > 65535) mediaPort = await freeUdpPort(true);
  const scen = 'builtin' in opts.scenario ? ['-sn', opts.scenario.builtin] : ['-sf', opts.scenario.file];
  const args = [...scen, '-i', '127.0.0.1', '-p', String(sipPort), '-mi', '127.0.0.1', '-mp', String(mediaPort), '-m', '1', '-nostdin', '-timeout', '30s', '-timeout_error', '-trace_err', '-trace_msg'];
  if (opts.rtpEcho) args.push('-rtp_echo');
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  await waitForUdpBound(sipPort);
  return {
    child,
    dir,
    sipPort,
    mediaPort,
    exit,
    output: () => {
      const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => `--- ${f}\n${fs.readFileSync(path.join(dir, f), 'utf8')}`);
      return `${out.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g'), '').slice(-3000)}\n${logs.join('\n')}`;
    },
  };
}

/** Polls until something is bound on the port (bind fails with EADDRINUSE), at most 5 s. */
async function waitForUdpBound(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const s = dgram.createSocket('udp4');
    const busy = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(true));
      s.bind(port, '127.0.0.1', () => resolve(false));
    });
    await new Promise<void>((r) => s.close(() => r()));
    if (busy) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sipp did not bind UDP port ${port} within 5 s`);
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  await done;
}

export interface Capture {
  file: string;
  stop(): Promise<void>;
}

/**
 * dumpcap on lo with a capture filter. Readiness: "Capturing on" is printed before packets are
 * really captured, so we also send probe datagrams to a free port (added to the filter) until the
 * capture file grows, i.e. until dumpcap has provably captured and written a packet.
 */
export async function startCapture(dir: string, filter: string): Promise<Capture> {
  const file = path.join(dir, 'cap.pcapng');
  const probePort = await freeUdpPort();
  const child = spawn('dumpcap', ['-q', '-i', 'lo', '-f', `(${filter}) or (udp and dst port ${probePort})`, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`dumpcap did not start: ${err}`)), 10_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('Capturing on')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`dumpcap exited ${code ?? 'null'}: ${err}`));
    });
  });
  const probe = dgram.createSocket('udp4');
  try {
    const sizeAt = (): number => (fs.existsSync(file) ? fs.statSync(file).size : 0);
    let initial = -1;
    for (let i = 0; i < 200; i++) {
      const size = sizeAt();
      if (initial < 0 && size > 0) initial = size;
      else if (initial > 0 && size > initial) break;
      probe.send(Buffer.from('capture probe'), probePort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 50));
      if (i === 199) throw new Error('dumpcap captured nothing within 10 s');
    }
  } finally {
    await new Promise<void>((r) => probe.close(() => r()));
  }
  return { file, stop: () => stopChild(child, 'SIGINT') };
}

/** Runs tshark on a capture file and returns stdout (stderr, with the root warning, dropped). */
export function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tshark ${args.join(' ')} exited ${r.status ?? 'null'}: ${r.stderr}`);
  return r.stdout;
}
