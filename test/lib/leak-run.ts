/**
 * One leak run (issue #6): N payments through the whole appliance, every artifact kept for the
 * scanner (leak-analyse.ts).
 *
 *   mosquitto (Debian) ← recorder (#), agent (pay.start / call.hangup over MQTT 5 rpc)
 *   sim process (E1 PRI, one scripted caller per canary) ⇄ unix socket ⇄ appliance process
 *   appliance ⇄ SIP/RTP on 127.0.0.1 ⇄ sipp UAS (answers, echoes RTP, traces messages); dumpcap on lo
 *
 * Each caller talks first (`speechMs`), then keys its canary with human timing (random 60–120 ms
 * tones, 150–600 ms gaps), then waits for the agent to hang up. Calls start `staggerMs` apart; the
 * simulator holds a call until a B-channel is free. After the last session: database files copied,
 * heap snapshot (SIGUSR2), appliance stopped (SIGTERM), database files copied again.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMosquitto, type Mosquitto } from './mosquitto';
import { startCapture, type Capture } from './sip-peers';
import { canaryKeys, makeCanaries, type CanarySet } from './leak-canaries';
import { LeakAgent, MqttRecorder, type RecordedMessage } from './leak-agent';
import { startApplianceProcess, startSimProcess, startSippUas, type ApplianceChild, type Child, type SippUas } from './leak-peers';

export interface LeakRunOptions {
  payments: number;
  /** Time between call starts (ms); the E1 has 30 B-channels, so ~30 s of call / staggerMs run at once. */
  staggerMs: number;
  seed: number;
  /** Talk before the keys (ms): the agent's pay.start must land in it. */
  speechMs: number;
  logLevel: 'info' | 'debug';
  /** Gives up on sessions not ended by then (ms after the first call). */
  sessionsTimeoutMs: number;
  progress?: (line: string) => void;
}

export const DEVICE_ID = 'tw-leak-0001';
/** No call or pay event for this long after the last caller was due: nothing more is coming. */
const QUIET_MS = 30_000;
export const TOPIC_ROOT = 'tonewall/v1';
export const PAY_FIELDS = ['card-number', 'expiry', 'security-code'] as const;

export interface RunArtifacts {
  dir: string;
  brokerDir: string;
  canaries: CanarySet;
  /** Files to scan by name: logs, database copies, heap snapshot, pcap, SIP trace, broker store. */
  files: { name: string; path: string; kind: 'log' | 'stdio' | 'db' | 'shm' | 'heap' | 'pcap' | 'sip' | 'broker' }[];
  messages: RecordedMessage[];
  retained: RecordedMessage[];
  agent: LeakAgent;
  sippMediaPort: number;
  applianceExitCode: number | null;
  startedMs: number;
  sessionsEndedMs: number;
  endedMs: number;
}

async function waitUntil(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const by = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > by) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

function copyDb(stateDir: string, dir: string, tag: string): RunArtifacts['files'] {
  const out: RunArtifacts['files'] = [];
  const to = join(dir, `db-${tag}`);
  mkdirSync(to);
  for (const suffix of ['', '-wal', '-shm']) {
    const src = join(stateDir, `tonewall.db${suffix}`);
    if (!existsSync(src)) continue;
    const dst = join(to, `tonewall.db${suffix}`);
    copyFileSync(src, dst);
    out.push({ name: `sqlite (${tag}) tonewall.db${suffix}`, path: dst, kind: suffix === '-shm' ? 'shm' : 'db' });
  }
  return out;
}

export function writeScript(path: string, set: CanarySet, o: Pick<LeakRunOptions, 'staggerMs' | 'seed' | 'speechMs'>): void {
  const calls = set.canaries.map((c, i) => ({
    span: 1,
    // Not 3 digits: a called number equal to a canary's code would read as a leak of it.
    called: '5550100',
    callerNumber: `5550${String(1000 + i)}`,
    ringCadence: [400, 400],
    // 24 s of ringing: a loaded machine may take a while to answer; the caller must not give up.
    answerTimeoutRings: 30,
    atMs: 3000 + i * o.staggerMs,
    seed: o.seed + i,
    // No toneMs/gapMs: human timing. The agent hangs up; hangupAfterMs only ends a forgotten call.
    audio: [{ speech: o.speechMs }, { keys: canaryKeys(c) }, { speech: 1500 }],
    hangupAfterMs: 120_000,
  }));
  writeFileSync(path, JSON.stringify({ calls }));
}

/** Runs the payments and returns every artifact; the caller removes `dir`. */
export async function runLeakPayments(o: LeakRunOptions): Promise<RunArtifacts> {
  const say = o.progress ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'tonewall-leak-'));
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const set = makeCanaries(o.payments, o.seed, Date.now());
  let broker: Mosquitto | undefined;
  let recorder: MqttRecorder | undefined;
  let agent: LeakAgent | undefined;
  let sipp: SippUas | undefined;
  let capture: Capture | undefined;
  let sim: Child | undefined;
  let app: ApplianceChild | undefined;
  try {
    broker = await startMosquitto();
    recorder = await MqttRecorder.start(broker.url);
    agent = await LeakAgent.start({ url: broker.url, root: TOPIC_ROOT, dev: DEVICE_ID, fields: PAY_FIELDS, rpcTimeoutMs: 30_000 });
    sipp = await startSippUas(dir);
    capture = await startCapture(dir, `udp port ${sipp.sipPort} or udp port ${sipp.mediaPort}`);
    const scriptFile = join(dir, 'callers.json');
    writeScript(scriptFile, set, o);
    const socket = join(dir, 'card.sock');
    const logFile = join(dir, 'appliance.log');
    const config = {
      device: { id: DEVICE_ID, stateDir },
      log: { level: o.logLevel, format: 'json', file: logFile },
      card: { transport: 'socket', socket: `unix:${socket}`, sim: { enabled: false } },
      sip: { bindPort: 0, rtpPortMin: 40000, rtpPortMax: 44999, contactCenterUri: `sip:{called}@127.0.0.1:${sipp.sipPort}`, demoEndpoint: { enabled: false } },
      mqtt: { url: broker.url, embeddedBroker: { enabled: false } },
      payments: { processor: { kind: 'test' } },
    };
    const configFile = join(dir, 'appliance.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const startedMs = Date.now();
    sim = await startSimProcess(dir, socket, scriptFile);
    app = startApplianceProcess(dir, configFile);
    say(`run dir ${dir}; ${o.payments} callers, one every ${o.staggerMs} ms`);
    const a = agent;
    let lastReport = 0;
    const done = await waitUntil(() => {
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        say(`  ${Math.round((Date.now() - startedMs) / 1000)} s: ${a.calls.size} calls answered, ${a.sessionsEnded.size} sessions ended`);
      }
      // Done: every payment ended; or nothing more can come (every answered call over, the last
      // caller due, and no call or pay event for a while); or the appliance died.
      const lastDueMs = startedMs + 3000 + o.payments * o.staggerMs;
      const quiet = Date.now() > lastDueMs && Date.now() - a.lastEventMs > QUIET_MS && [...a.calls.values()].every((c) => c.callEnded);
      return a.sessionsEnded.size >= o.payments || quiet || app?.child.exitCode !== null;
    }, o.sessionsTimeoutMs + 3000 + o.payments * o.staggerMs);
    if (!done) say(`  gave up waiting: ${a.sessionsEnded.size}/${o.payments} sessions ended`);
    await agent.settle();
    await waitUntil(() => [...a.calls.values()].every((c) => c.callEnded), 30_000);
    const sessionsEndedMs = Date.now();
    // Let the outbox drain the last events, then keep what the appliance holds at rest.
    await new Promise((r) => setTimeout(r, 2000));
    const files: RunArtifacts['files'] = copyDb(stateDir, dir, 'running');
    say('  heap snapshot (SIGUSR2)…');
    files.push({ name: 'heap snapshot', path: await app.heapSnapshot(), kind: 'heap' });
    const applianceExitCode = await app.stop();
    files.push(...copyDb(stateDir, dir, 'stopped'));
    await sim.stop();
    await sipp.stop();
    await capture.stop();
    capture = undefined;
    const retained = await MqttRecorder.retained(broker.url);
    await agent.stop();
    await recorder.stop();
    const messages = recorder.messages;
    await broker.stop();
    files.push({ name: 'appliance log file', path: logFile, kind: 'log' });
    files.push({ name: 'appliance stdout', path: join(dir, 'appliance.stdout'), kind: 'stdio' });
    files.push({ name: 'appliance stderr', path: join(dir, 'appliance.stderr'), kind: 'stdio' });
    files.push({ name: 'loopback capture (SIP + RTP)', path: join(dir, 'cap.pcapng'), kind: 'pcap' });
    const trace = sipp.messagesFile();
    if (trace) files.push({ name: 'sipp message trace', path: trace, kind: 'sip' });
    const brokerDb = join(broker.dir, 'data', 'mosquitto.db');
    if (existsSync(brokerDb)) files.push({ name: 'mosquitto persistence', path: brokerDb, kind: 'broker' });
    return {
      dir,
      canaries: set,
      files,
      brokerDir: broker.dir,
      messages,
      retained,
      agent,
      sippMediaPort: sipp.mediaPort,
      applianceExitCode,
      startedMs,
      sessionsEndedMs,
      endedMs: Date.now(),
    };
  } finally {
    await app?.stop(5000);
    await sim?.stop(5000);
    await sipp?.stop(5000);
    await capture?.stop();
    await agent?.stop().catch(() => undefined);
    await recorder?.stop().catch(() => undefined);
    await broker?.stop();
  }
}

/** Removes the run's directory and the broker's (both kept until the analysis is done). */
export function removeRun(run: Pick<RunArtifacts, 'dir' | 'brokerDir'>): void {
  rmSync(run.dir, { recursive: true, force: true });
  rmSync(run.brokerDir, { recursive: true, force: true });
}
