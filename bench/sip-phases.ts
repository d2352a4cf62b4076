/**
 * The measurements of `npm run bench:sip` (bench/sip.ts runs them in order against one system):
 * call rate steps, 120 held calls with audio both ways, PSTN → SIP calls for the 200 OK → ACK
 * time. Each returns plain figures; the wire figures come from a loopback capture of the run.
 */
import * as dgram from 'node:dgram';
import { join } from 'node:path';
import { cpuPercent, sampleProc, type ProcSample, type SystemUnderTest } from './sip-appliance';
import { startCapture, type UdpDatagram } from './sip-pcap';
import { runSippUac, runSippUas, type SippResult } from './sip-sipp';
import { median, rtpReceivedByPort, rtpSendStats, sipTimes, summariseSip } from './sip-wire';

export interface RateStep {
  ratePerS: number;
  /** Calls started per second as measured on the wire (first to last INVITE). */
  achievedPerS: number;
  total: number;
  successful: number;
  /** Calls that did not succeed (failed or never finished), % of those attempted. */
  failedPct: number;
  inviteToTryingMs: number[];
  /** INVITE → 200 OK p50, ms (the PSTN call's setup and the simulated callee's 100 ms answer included). */
  inviteToOkP50Ms: number;
  /** Appliance CPU over the step, % of one core. */
  cpuPct: number;
  /** The simulated card's CPU over the step, % of one core. */
  simCpuPct: number;
}

export interface BenchEnv {
  dir: string;
  sys: SystemUnderTest;
  audioFile: string;
  sippMediaPort: number;
}

/** First-INVITE times (µs) of the dialogs sent to the appliance. */
function inviteTimes(datagrams: readonly UdpDatagram[], appPort: number): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  for (const d of datagrams) {
    if (d.dstPort !== appPort) continue;
    const m = summariseSip(d.payload);
    if (m?.method !== 'INVITE' || seen.has(m.callId)) continue;
    seen.add(m.callId);
    out.push(d.tsUs);
  }
  return out;
}

/** One call rate step: `ratePerS` calls/s for `stepS` seconds, each held `holdMs`, at most `limit` at once. */
export async function rateStep(env: BenchEnv, ratePerS: number, stepS: number, holdMs: number, limit: number): Promise<RateStep & { sipp: SippResult }> {
  const total = Math.max(1, Math.round(ratePerS * stepS));
  const cap = await startCapture(env.dir, `udp port ${env.sys.sipPort}`);
  const before = sampleProc(env.sys.appPid);
  const simBefore = sampleProc(env.sys.simPid);
  const run = runSippUac(
    { dir: join(env.dir, `rate-${ratePerS}`), target: `127.0.0.1:${env.sys.sipPort}`, service: '8000', ratePerS, limit, total, holdMs, recvTimeoutMs: 10_000, timeoutS: Math.ceil(stepS + holdMs / 1000 + 60) },
    env.audioFile,
    env.sippMediaPort,
  );
  const sipp = await run.done;
  const cpuPct = cpuPercent(before, sampleProc(env.sys.appPid));
  const simCpuPct = cpuPercent(simBefore, sampleProc(env.sys.simPid));
  const wire = await cap.stop();
  const times = sipTimes(wire, env.sys.sipPort);
  const invites = inviteTimes(wire, env.sys.sipPort);
  const spanS = invites.length > 1 ? ((invites[invites.length - 1] ?? 0) - (invites[0] ?? 0)) / 1e6 : 0;
  return {
    ratePerS,
    achievedPerS: spanS > 0 ? (invites.length - 1) / spanS : 0,
    total,
    successful: sipp.successful,
    failedPct: (100 * (total - sipp.successful)) / total,
    inviteToTryingMs: times.inviteToTryingMs,
    inviteToOkP50Ms: median(times.inviteToOkMs),
    cpuPct,
    simCpuPct,
    sipp,
  };
}

export interface HoldResult {
  calls: number;
  answered: number;
  /** Appliance RTP ports (one per call) that sent and received ≥ 90 % of the audio packets the all-up window should carry. */
  audioBothWays: number;
  /** Seconds all calls were up at once (last 200 OK → first BYE, on the wire). */
  allUpS: number;
  /** Appliance CPU while all calls were up, % of one core: the median over 3 equal windows. */
  cpuPct: number;
  cpuWindowsPct: number[];
  rssIdleMb: number;
  rssMaxMb: number;
  rssEndMb: number;
  /** |RTP send interval − ptime| of the appliance's audio streams, ms. */
  sendDeviationMs: number[];
  inviteToTryingMs: number[];
  /** The simulated card's process during the run: event-loop delay p99 / max, ms (late TDM ticks). */
  simLoopDelayP99Ms: number;
  simLoopDelayMaxMs: number;
  sipp: SippResult;
}

/** Times (µs) the last call was answered (200 for INVITE out of the appliance) and the first BYE came in. */
function allUpWindow(wire: readonly UdpDatagram[], appPort: number): { fromUs: number; toUs: number } {
  let fromUs = 0;
  let toUs = Number.POSITIVE_INFINITY;
  for (const d of wire) {
    const m = d.srcPort === appPort || d.dstPort === appPort ? summariseSip(d.payload) : undefined;
    if (!m) continue;
    if (d.srcPort === appPort && m.status === 200 && m.cseqMethod === 'INVITE') fromUs = Math.max(fromUs, d.tsUs);
    if (d.dstPort === appPort && m.method === 'BYE') toUs = Math.min(toUs, d.tsUs);
  }
  return { fromUs, toUs };
}

/** CPU % of one core over [fromMs, toMs] from 1 s samples, split in `parts` equal windows. */
function cpuWindows(samples: readonly ProcSample[], fromMs: number, toMs: number, parts: number): number[] {
  const inside = samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
  const out: number[] = [];
  const per = Math.floor((inside.length - 1) / parts);
  for (let i = 0; per >= 1 && i < parts; i++) {
    const a = inside[i * per];
    const b = inside[(i + 1) * per];
    if (a && b) out.push(cpuPercent(a, b));
  }
  const first = inside[0];
  const last = inside[inside.length - 1];
  if (out.length === 0 && first && last && last !== first) out.push(cpuPercent(first, last));
  return out;
}

/** `calls` SIP → PSTN calls set up at `ratePerS`, all held together for about `holdMs`, audio both ways. */
export async function holdCalls(env: BenchEnv, calls: number, ratePerS: number, holdMs: number): Promise<HoldResult> {
  const pid = env.sys.appPid;
  const idle = sampleProc(pid);
  await env.sys.simStats(true);
  const cap = await startCapture(env.dir, `udp and (port ${env.sys.sipPort} or portrange ${env.sys.rtpPortMin}-${env.sys.rtpPortMax})`);
  // The capture clock is the wall clock; the samples' clock is performance.now(): keep the offset.
  const wallMinusPerfMs = Date.now() - performance.now();
  const samples: ProcSample[] = [idle];
  const sampler = setInterval(() => samples.push(sampleProc(pid)), 1000);
  const run = runSippUac(
    { dir: join(env.dir, 'hold'), target: `127.0.0.1:${env.sys.sipPort}`, service: '8000', ratePerS, limit: calls, total: calls, holdMs, recvTimeoutMs: 15_000, timeoutS: Math.ceil(calls / ratePerS + holdMs / 1000 + 60) },
    env.audioFile,
    env.sippMediaPort,
  );
  const sipp = await run.done;
  clearInterval(sampler);
  const end = sampleProc(pid);
  const sim = await env.sys.simStats();
  const wire = await cap.stop();
  const { fromUs, toUs } = allUpWindow(wire, env.sys.sipPort);
  const fromMs = fromUs / 1000 - wallMinusPerfMs;
  const toMs = toUs / 1000 - wallMinusPerfMs;
  const allUpS = Math.max(0, (toUs - fromUs) / 1e6);
  const windows = cpuWindows(samples, fromMs + 1000, toMs - 1000, 3);
  const inWindow = wire.filter((d) => d.tsUs >= fromUs && d.tsUs <= toUs);
  const sent = rtpSendStats(inWindow, env.sys.rtpPortMin, env.sys.rtpPortMax);
  const received = rtpReceivedByPort(inWindow, env.sys.rtpPortMin, env.sys.rtpPortMax);
  const expected = 0.9 * allUpS * 50; // 20 ms packets
  const audioBothWays = sent.streams.filter((s) => s.packets >= expected && (received.get(s.srcPort) ?? 0) >= expected).length;
  const answered = new Set(wire.filter((d) => d.srcPort === env.sys.sipPort).map((d) => summariseSip(d.payload)).filter((m) => m?.status === 200 && m.cseqMethod === 'INVITE').map((m) => m?.callId)).size;
  return {
    calls,
    answered,
    audioBothWays,
    allUpS,
    cpuPct: median(windows),
    cpuWindowsPct: windows,
    rssIdleMb: idle.rssKb / 1024,
    rssMaxMb: Math.max(...samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs).map((s) => s.rssKb / 1024), end.rssKb / 1024),
    rssEndMb: end.rssKb / 1024,
    sendDeviationMs: sent.deviationsMs,
    inviteToTryingMs: sipTimes(wire, env.sys.sipPort).inviteToTryingMs,
    simLoopDelayP99Ms: sim['loopDelayP99Ms'] ?? 0,
    simLoopDelayMaxMs: sim['loopDelayMaxMs'] ?? 0,
    sipp,
  };
}

/** The appliance's CPU with no call, % of one core, over `ms`. */
export async function idleCpu(env: BenchEnv, ms: number): Promise<number> {
  const a = sampleProc(env.sys.appPid);
  await new Promise((r) => setTimeout(r, ms));
  return cpuPercent(a, sampleProc(env.sys.appPid));
}

export interface PstnToSipResult {
  placed: number;
  okToAckMs: number[];
  sipp: SippResult;
}

/** An even UDP port p with p and p + 2 free on 127.0.0.1 (sipp's -mp and its -rtp_echo second port), below the ephemeral range. */
async function freeMediaPorts(): Promise<number> {
  for (;;) {
    const p = 20000 + 2 * Math.floor(Math.random() * 4990);
    const socks = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
    const ok = await Promise.all(socks.map((s, i) => new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.bind(p + 2 * i, '127.0.0.1', () => resolve(true));
    })));
    await Promise.all(socks.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    if (ok.every(Boolean)) return p;
  }
}

/** PSTN → SIP calls from the simulated network to sipp's UAS (`uasPort`): the appliance's 200 OK → ACK time. */
export async function pstnToSip(env: BenchEnv, uasPort: number, count: number, ratePerS: number, holdMs: number): Promise<PstnToSipResult> {
  const cap = await startCapture(env.dir, `udp port ${env.sys.sipPort} or udp port ${uasPort}`);
  let uas = runSippUas(join(env.dir, 'uas-1'), uasPort, await freeMediaPorts(), count, Math.ceil(count / ratePerS + holdMs / 1000 + 60));
  for (let attempt = 2; ; attempt++) {
    await new Promise((r) => setTimeout(r, 500)); // test-peers.md §7: the UAS binds at once; 0.5 s is enough
    // A port taken between the check and sipp's bind makes sipp exit at once: try other media ports.
    if (uas.child.exitCode === null || attempt > 3) break;
    uas = runSippUas(join(env.dir, `uas-${attempt}`), uasPort, await freeMediaPorts(), count, Math.ceil(count / ratePerS + holdMs / 1000 + 60));
  }
  const { placed } = await env.sys.place({ count, ratePerS, holdMs });
  const done = await Promise.race([uas.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), holdMs + 20_000))]);
  if (!done) uas.child.kill('SIGTERM');
  const sipp = done ?? (await uas.done);
  const wire = await cap.stop();
  return { placed, okToAckMs: sipTimes(wire, env.sys.sipPort).okToAckMs, sipp };
}
