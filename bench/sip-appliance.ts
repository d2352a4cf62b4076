/**
 * The system under test of `npm run bench:sip`: the simulated card (bench/sip-sim.ts, its own
 * process) and the appliance daemon (`node dist/controller/app/cli.js run --config F`, its own
 * process) on the card's pty, with SIP on 127.0.0.1, MQTT to a Debian mosquitto, no payments.
 * CPU and RSS of the appliance are read from /proc/<pid> (proc(5): stat utime+stime in clock
 * ticks, status VmRSS in kB).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BenchSimMessage, BenchSimOptions, PlaceCommand } from './sip-sim';

/** Linux USER_HZ: clock ticks per second in /proc/<pid>/stat (sysconf(_SC_CLK_TCK), 100 on every Linux ABI in use). */
const CLOCK_TICKS_PER_S = 100;
/** How much of the appliance's log (stderr) is kept for the report and the run directory. */
const LOG_KEEP_BYTES = 64 * 1024 * 1024;

export interface ProcSample {
  atMs: number;
  /** utime + stime, seconds. */
  cpuS: number;
  rssKb: number;
}

/** One reading of a process's CPU time and RSS from /proc. */
export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { atMs: performance.now(), cpuS: ticks / CLOCK_TICKS_PER_S, rssKb: Number(rss?.[1] ?? 0) };
}

/** CPU use between two samples, % of one core. */
export function cpuPercent(a: ProcSample, b: ProcSample): number {
  return (100 * (b.cpuS - a.cpuS)) / ((b.atMs - a.atMs) / 1000);
}

export interface SystemUnderTest {
  sipPort: number;
  rtpPortMin: number;
  rtpPortMax: number;
  appPid: number;
  /** The simulated card's process (its CPU is not the appliance's). */
  simPid: number;
  /** Asks the simulator for its PCM counters (underruns, overruns, dropped host PCM) and event-loop delay since the last reset. */
  simStats(reset?: boolean): Promise<Record<string, number>>;
  /** Has the simulated PSTN place calls toward the appliance; resolves once all were started (or refused). */
  place(cmd: Omit<PlaceCommand, 'type'>): Promise<{ placed: number; refused: number }>;
  /** The appliance's stderr log so far (warnings and errors only). */
  log(): string;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const hard = setTimeout(() => child.kill('SIGKILL'), 10_000);
  return done.finally(() => clearTimeout(hard));
}

function nextMessage<T extends BenchSimMessage['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<BenchSimMessage, { type: T }>> {
  return new Promise((resolveMsg, reject) => {
    const t = setTimeout(() => reject(new Error(`the simulator did not answer '${type}' within ${timeoutMs} ms`)), timeoutMs);
    const on = (m: BenchSimMessage): void => {
      if (m.type !== type) return;
      clearTimeout(t);
      child.off('message', on);
      resolveMsg(m as Extract<BenchSimMessage, { type: T }>);
    };
    child.on('message', on);
  });
}

export interface StartOptions {
  dir: string;
  mqttUrl: string;
  sipPort: number;
  /** Where the appliance sends PSTN → SIP calls (a sipp UAS). */
  contactCenterPort: number;
  spans: number;
  answerAfterMs: number;
  speechMs: number;
  /** How the appliance reaches the simulated card: its pty (default) or its unix socket. */
  cardTransport?: 'pty' | 'socket';
}

/** Starts the simulator, then the appliance on its pty; resolves once every span's D channel is up. */
export async function startSystem(o: StartOptions): Promise<SystemUnderTest> {
  const distRoot = resolve(__dirname, '..');
  const simOpts: BenchSimOptions = { dir: o.dir, model: `e1-pri-${o.spans}`, spans: o.spans, answerAfterMs: o.answerAfterMs, speechMs: o.speechMs, pty: o.cardTransport !== 'socket' };
  const sim = fork(join(distRoot, 'bench/sip-sim.js'), [JSON.stringify(simOpts)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const { ptyPath } = await nextMessage(sim, 'ready', 20_000);
  const rtpPortMin = 30000;
  const rtpPortMax = 30999;
  const config = {
    device: { id: 'tw-bench-sip', stateDir: join(o.dir, 'state') },
    log: { level: process.env['BENCH_SIP_LOG_LEVEL'] ?? 'warn', format: 'json' },
    // The pty (socat relay, like a tty-attached card) or the simulator's unix socket directly.
    card: o.cardTransport === 'socket' ? { transport: 'socket', socket: `unix:${join(o.dir, 'card-sim.sock')}`, sim: { enabled: false } } : { transport: 'serial', path: ptyPath, sim: { enabled: false } },
    sip: {
      bindAddress: '127.0.0.1',
      bindPort: o.sipPort,
      codecs: ['PCMA', 'PCMU'],
      rtpPortMin,
      rtpPortMax,
      contactCenterUri: `sip:{called}@127.0.0.1:${o.contactCenterPort}`,
      demoEndpoint: { enabled: false },
      routing: [{ prefix: '' }],
      edge: { peerRatePerS: 5000, peerBurst: 5000 },
    },
    mqtt: { url: o.mqttUrl, embeddedBroker: { enabled: false } },
    payments: { enabled: false },
  };
  const configFile = join(o.dir, 'appliance.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  // BENCH_SIP_APP_NODE_FLAGS (e.g. "--trace-gc"): extra node flags for the appliance; its stdout goes to appliance.stdout.
  const nodeFlags = (process.env['BENCH_SIP_APP_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  const stdout = openSync(join(o.dir, 'appliance.stdout'), 'w');
  const app = spawn(process.execPath, [...nodeFlags, join(distRoot, 'controller/app/cli.js'), 'run', '--config', configFile], { stdio: ['ignore', stdout, 'pipe'] });
  closeSync(stdout);
  // The appliance's log, the newest LOG_KEEP_BYTES of it.
  const logChunks: string[] = [];
  let logBytes = 0;
  app.stderr?.on('data', (d: Buffer) => {
    logChunks.push(d.toString());
    logBytes += d.length;
    while (logBytes > LOG_KEEP_BYTES && logChunks.length > 1) logBytes -= (logChunks.shift() ?? '').length;
  });
  const log = (): string => logChunks.join('');
  const system: SystemUnderTest = {
    sipPort: o.sipPort,
    rtpPortMin,
    rtpPortMax,
    appPid: app.pid ?? 0,
    simPid: sim.pid ?? 0,
    async simStats(reset = false) {
      const answer = nextMessage(sim, 'stats', 5000);
      sim.send({ type: 'stats', reset });
      return (await answer).stats;
    },
    async place(cmd) {
      const answer = nextMessage(sim, 'placed', 10_000 + (cmd.count * 1000) / cmd.ratePerS);
      sim.send({ type: 'place', ...cmd });
      return answer;
    },
    log,
    async stop() {
      await stopChild(app);
      sim.send({ type: 'stop' });
      await stopChild(sim).catch(() => undefined);
    },
  };
  for (let i = 0; ; i++) {
    if (app.exitCode !== null) throw new Error(`the appliance exited ${app.exitCode}:\n${log().slice(-3000)}`);
    const answer = nextMessage(sim, 'spans', 5000);
    sim.send({ type: 'spans' });
    if ((await answer).up === o.spans) break;
    if (i > 300) {
      await system.stop();
      throw new Error(`the D channels did not come up within 30 s:\n${log().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return system;
}
