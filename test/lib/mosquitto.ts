/**
 * Starts Debian's mosquitto for a test (test-peers.md §3): its own temp dir, a free port on
 * 127.0.0.1, `user root` (so the persistence dir needs no chown), TCP_NODELAY, log to stderr; ready when stderr
 * says "running". Stopped by pid (SIGTERM, which also saves the persistence file). `restart()`
 * brings it back on the same port with the same data dir (broker-outage tests).
 *
 * Availability: `mosquittoOrSkip(this)` skips the test when the binary is missing, except under CI
 * (`process.env.CI`), where a missing peer fails the test.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MOSQUITTO_BIN = process.env['MOSQUITTO_BIN'] ?? 'mosquitto';

export interface MosquittoOptions {
  /** persistence true with the data dir under the temp dir (default true). */
  persistence?: boolean;
  /** Extra mosquitto.conf lines (no trailing comments: mosquitto.conf has none). */
  extraConf?: string[];
  /** How long to wait for "running" (default 10 s). */
  readyTimeoutMs?: number;
}

export interface Mosquitto {
  host: '127.0.0.1';
  port: number;
  url: string;
  dir: string;
  readonly pid: number | undefined;
  /** Everything the broker wrote to stderr so far (for failure messages). */
  log(): string;
  /** SIGTERM by pid and wait for the exit (idempotent). */
  stop(): Promise<void>;
  /** Start again on the same port and data dir. */
  restart(): Promise<void>;
  /** stop() and remove the temp dir. */
  dispose(): Promise<void>;
}

export function mosquittoAvailable(): boolean {
  const r = spawnSync(MOSQUITTO_BIN, ['-h'], { stdio: 'ignore' });
  return !r.error;
}

/** Skips (or under CI fails) the calling test/hook when mosquitto is missing. */
export function mosquittoOrSkip(ctx: Mocha.Context): void {
  if (mosquittoAvailable()) return;
  if (process.env['CI']) throw new Error(`${MOSQUITTO_BIN} not found: CI must install the mosquitto package`);
  // eslint-disable-next-line no-console -- tells the developer why the test did not run
  console.warn(`      skipped: ${MOSQUITTO_BIN} not installed (apt-get install mosquitto)`);
  ctx.skip();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'tw-mosquitto-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const port = await freePort();
  const conf = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    `persistence ${options.persistence === false ? 'false' : 'true'}`,
    `persistence_location ${dataDir}/`,
    'log_dest stderr',
    'log_type all',
    'user root',
    // Small QoS 1 acks otherwise wait on Nagle: PUBACK latency p50 7.7 ms → 1.8 ms here.
    'set_tcp_nodelay true',
    ...(options.extraConf ?? []),
  ];
  const confPath = join(dir, 'mosquitto.conf');
  writeFileSync(confPath, conf.join('\n') + '\n');
  let child: ChildProcess | undefined;
  let stderr = '';
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;

  const launch = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const c = spawn(MOSQUITTO_BIN, ['-c', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = c;
      let done = false;
      let ownStderr = '';
      const timer = setTimeout(() => finish(new Error(`mosquitto did not report "running" within ${readyTimeoutMs} ms; log:\n${stderr}`)), readyTimeoutMs);
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      c.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        ownStderr += d.toString();
        if (/mosquitto version \S+ running/.test(ownStderr)) finish();
      });
      c.once('error', (err) => finish(err));
      c.once('exit', (code, signal) => finish(new Error(`mosquitto exited (code ${code}, signal ${signal}) before it was ready; log:\n${stderr}`)));
    });

  // mosquitto 2.0.11 can miss a SIGTERM that lands just after start-up (the signal arrives before
  // its poll and nothing wakes it), so the signal is repeated until it exits; SIGKILL after 10 s.
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      let waitedMs = 0;
      const repeat = setInterval(() => {
        waitedMs += 250;
        c.kill(waitedMs >= 10_000 ? 'SIGKILL' : 'SIGTERM');
      }, 250);
      c.once('exit', () => {
        clearInterval(repeat);
        resolve();
      });
      c.kill('SIGTERM');
    });
  };

  await launch();
  return {
    host: '127.0.0.1',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    get pid() {
      return child?.pid;
    },
    log: () => stderr,
    stop,
    async restart() {
      await stop();
      stderr += '\n--- restart ---\n';
      await launch();
    },
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
