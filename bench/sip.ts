/**
 * `npm run bench:sip`: the whole appliance driven over SIP by sipp, with the simulated card playing
 * 4 E1 PRI spans (e1-pri-4, 120 B channels; bench/sip-sim.ts in its own process) and the appliance
 * as a child (`tonewall run`, bench/sip-appliance.ts), MQTT to Debian's mosquitto, no payments.
 * Figures (bench/sip-phases.ts; wire times from a loopback capture, bench/sip-wire.ts):
 *
 *  - call rate: sipp starts SIP → PSTN calls (2 s hold, A-law both ways) at stepped rates for
 *    `--step-s` each; the highest rate with ≤ 1 % of calls not successful is the sustained rate;
 *  - held calls: 120 SIP → PSTN calls held together (`--hold-s`), audio both ways: appliance CPU
 *    (% of one core and of the machine, median of 3 windows while all are up), RSS, calls with
 *    audio both ways (≥ 90 % of the packets, each direction, on the wire);
 *  - SIP times at the appliance: INVITE → 100 Trying (SIP → PSTN calls) and 200 OK → ACK
 *    (PSTN → SIP calls to a sipp UAS), p50 / p99;
 *  - RTP send jitter: |interval − 20 ms| of the appliance's RTP while 120 calls are up.
 *
 * Not a test: it prints figures (`--json` for a JSON object). Machines are shared: read ratios
 * and medians, and the load average printed with them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mosquittoAvailable, startMosquitto } from '../test/lib/mosquitto';
import { freeUdpPort, hasBinary } from '../test/lib/sip-peers';
import { startSystem } from './sip-appliance';
import { holdCalls, idleCpu, pstnToSip, rateStep, type BenchEnv, type HoldResult, type RateStep } from './sip-phases';
import { writeBenchAudio } from './sip-sipp';
import { percentile } from './sip-wire';

const FAILED_PCT_LIMIT = 1;
/** B channels of the e1-pri-4 card: sipp never has more calls than this open at once in the rate steps. */
const CHANNELS = 120;

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const pq = (xs: readonly number[], digits = 2): string => (xs.length ? `${fmt(percentile(xs, 50), digits)} / ${fmt(percentile(xs, 99), digits)}` : '-');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      rates: { type: 'string', default: '10,20,30,40,50,55,60' },
      'rate-hold-s': { type: 'string', default: '2' },
      'step-s': { type: 'string', default: '10' },
      calls: { type: 'string', default: '120' },
      'hold-s': { type: 'string', default: '30' },
      'pstn-calls': { type: 'string', default: '60' },
      'ref-calls': { type: 'string', default: '10' },
      keep: { type: 'boolean', default: false },
      'card-transport': { type: 'string', default: 'pty' },
    },
  });
  for (const bin of ['sipp', 'dumpcap', 'socat']) if (!hasBinary(bin)) throw new Error(`${bin} is not installed (test-peers.md §0)`);
  if (!mosquittoAvailable()) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
  const rates = (values.rates ?? '').split(',').map(Number).filter((r) => r > 0);
  const stepS = Number(values['step-s']);
  const rateHoldMs = Number(values['rate-hold-s']) * 1000;
  const calls = Number(values.calls);
  const holdMs = Number(values['hold-s']) * 1000;
  const pstnCalls = Number(values['pstn-calls']);
  const refCalls = Number(values['ref-calls']);
  const log = (s: string): void => {
    if (!values.json) console.error(s);
  };
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'tonewall-bench-sip-'));
  const broker = await startMosquitto({ persistence: false });
  const audioFile = join(dir, 'agent.al');
  writeBenchAudio(audioFile);
  const uasPort = await freeUdpPort();
  const sys = await startSystem({ dir, mqttUrl: broker.url, sipPort: await freeUdpPort(), contactCenterPort: uasPort, spans: 4, answerAfterMs: 100, speechMs: 600_000, cardTransport: values['card-transport'] === 'socket' ? 'socket' : 'pty' });
  const env: BenchEnv = { dir, sys, audioFile, sippMediaPort: await freeUdpPort(true) };
  const t0 = performance.now();
  try {
    const steps: RateStep[] = [];
    for (const r of rates) {
      log(`rate step: ${r} calls/s for ${stepS} s …`);
      const s = await rateStep(env, r, stepS, rateHoldMs, CHANNELS);
      steps.push({ ratePerS: s.ratePerS, achievedPerS: s.achievedPerS, total: s.total, successful: s.successful, failedPct: s.failedPct, inviteToTryingMs: s.inviteToTryingMs, inviteToOkP50Ms: s.inviteToOkP50Ms, cpuPct: s.cpuPct, simCpuPct: s.simCpuPct });
      log(`  ${s.successful}/${s.total} successful (${fmt(s.failedPct)} % not), ${fmt(s.achievedPerS)} calls/s on the wire, INVITE → 200 p50 ${fmt(s.inviteToOkP50Ms, 0)} ms, CPU appliance ${fmt(s.cpuPct)} % / simulator ${fmt(s.simCpuPct)} %`);
      if (s.failedPct > FAILED_PCT_LIMIT) break;
      await new Promise((res) => setTimeout(res, 3000)); // the PRI releases of the last calls
    }
    const sustained = steps.filter((s) => s.failedPct <= FAILED_PCT_LIMIT).reduce((best, s) => Math.max(best, s.ratePerS), 0);
    log('appliance idle, 5 s …');
    await new Promise((res) => setTimeout(res, 3000));
    const idlePct = await idleCpu(env, 5000);
    let ref: HoldResult | undefined;
    if (refCalls > 0) {
      log(`reference: ${refCalls} calls held 15 s …`);
      ref = await holdCalls(env, refCalls, 10, 15_000);
      await new Promise((res) => setTimeout(res, 3000));
    }
    log(`${calls} calls held ${holdMs / 1000} s with audio both ways …`);
    const hold = await holdCalls(env, calls, 20, holdMs);
    log(`PSTN → SIP: ${pstnCalls} calls to a sipp UAS …`);
    await new Promise((res) => setTimeout(res, 3000));
    const pstn = await pstnToSip(env, uasPort, pstnCalls, 10, 2000);
    const simStats = await sys.simStats();
    const logCounts = new Map<string, number>();
    for (const line of sys.log().split('\n')) {
      const m = /"level":"(\w+)".*?"msg":"([^"]*)"/.exec(line);
      const key = m ? `${m[1] ?? ''}: ${m[2] ?? ''}` : undefined;
      if (key) logCounts.set(key, (logCounts.get(key) ?? 0) + 1);
    }
    const inviteToTrying = [...steps.flatMap((s) => s.inviteToTryingMs), ...hold.inviteToTryingMs];
    const cores = cpus().length;
    const result = {
      machine: { cores, loadAvgBefore: loadBefore.map((l) => Number(l.toFixed(2))), loadAvgAfter: loadavg().map((l) => Number(l.toFixed(2))) },
      callRate: { sustainedPerS: sustained, failedPctLimit: FAILED_PCT_LIMIT, holdMs: rateHoldMs, steps: steps.map((s) => ({ ratePerS: s.ratePerS, achievedPerS: s.achievedPerS, total: s.total, successful: s.successful, failedPct: s.failedPct, inviteToOkP50Ms: s.inviteToOkP50Ms, cpuPctOfOneCore: s.cpuPct, simCpuPctOfOneCore: s.simCpuPct })) },
      held: {
        calls: hold.calls,
        answered: hold.answered,
        audioBothWays: hold.audioBothWays,
        allUpS: hold.allUpS,
        cpuPctOfOneCore: hold.cpuPct,
        cpuPctOfMachine: hold.cpuPct / cores,
        cpuWindowsPct: hold.cpuWindowsPct,
        rssIdleMb: hold.rssIdleMb,
        rssMaxMb: hold.rssMaxMb,
        rssEndMb: hold.rssEndMb,
        sippSuccessful: hold.sipp.successful,
        cpuIdlePctOfOneCore: idlePct,
        simLoopDelayP99Ms: hold.simLoopDelayP99Ms,
        simLoopDelayMaxMs: hold.simLoopDelayMaxMs,
      },
      reference: ref
        ? {
            calls: ref.calls,
            audioBothWays: ref.audioBothWays,
            cpuPctOfOneCore: ref.cpuPct,
            rtpSendJitterMs: { n: ref.sendDeviationMs.length, p50: percentile(ref.sendDeviationMs, 50), p99: percentile(ref.sendDeviationMs, 99), max: ref.sendDeviationMs.reduce((m, x) => Math.max(m, x), 0) },
            simLoopDelayP99Ms: ref.simLoopDelayP99Ms,
          }
        : null,
      sip: {
        inviteToTryingMs: { n: inviteToTrying.length, p50: percentile(inviteToTrying, 50), p99: percentile(inviteToTrying, 99) },
        okToAckMs: { n: pstn.okToAckMs.length, p50: percentile(pstn.okToAckMs, 50), p99: percentile(pstn.okToAckMs, 99), placed: pstn.placed, sippSuccessful: pstn.sipp.successful },
      },
      rtpSendJitterMs: { n: hold.sendDeviationMs.length, p50: percentile(hold.sendDeviationMs, 50), p99: percentile(hold.sendDeviationMs, 99), max: hold.sendDeviationMs.reduce((m, x) => Math.max(m, x), 0) },
      simCard: simStats,
      applianceLog: Object.fromEntries(logCounts),
      wallS: (performance.now() - t0) / 1000,
    };
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
    } else {
      const rows: [string, string][] = [
        [`calls per second sustained (SIP → PSTN, ${rateHoldMs / 1000} s hold, ≤ 1 % not successful)`, `${sustained}`],
        ...steps.map((s): [string, string] => [`  step ${s.ratePerS}/s (${fmt(s.achievedPerS)}/s on the wire)`, `${s.successful}/${s.total} ok, ${fmt(s.failedPct)} % not; INVITE → 200 p50 ${fmt(s.inviteToOkP50Ms, 0)} ms; CPU ${fmt(s.cpuPct, 0)} % (sim ${fmt(s.simCpuPct, 0)} %)`]),
        [`concurrent calls held ${fmt(hold.allUpS, 0)} s (answered / audio both ways)`, `${hold.answered}/${hold.calls} / ${hold.audioBothWays}/${hold.calls}`],
        ['appliance CPU at that load, % of one core (median of 3 windows)', `${fmt(hold.cpuPct)} (${hold.cpuWindowsPct.map((c) => fmt(c)).join(', ')})`],
        [`appliance CPU, % of the machine (${cores} cores)`, fmt(hold.cpuPct / cores)],
        ['appliance CPU idle (no call), % of one core', fmt(idlePct)],
        ...(ref ? [[`appliance CPU per call: at ${calls} calls / at ${ref.calls} calls, % of one core`, `${fmt((hold.cpuPct - idlePct) / calls, 2)} / ${fmt((ref.cpuPct - idlePct) / ref.calls, 2)}`] as [string, string]] : []),
        ['appliance RSS idle / max at load / after, MB', `${fmt(hold.rssIdleMb)} / ${fmt(hold.rssMaxMb)} / ${fmt(hold.rssEndMb)}`],
        [`INVITE → 100 Trying at the appliance, loopback, p50 / p99 ms (n=${inviteToTrying.length})`, pq(inviteToTrying)],
        [`200 OK → ACK at the appliance (PSTN → SIP), loopback, p50 / p99 ms (n=${pstn.okToAckMs.length})`, pq(pstn.okToAckMs)],
        [`RTP send interval − 20 ms at ${calls} calls, p50 / p99 / max ms (n=${hold.sendDeviationMs.length})`, `${pq(hold.sendDeviationMs)} / ${fmt(result.rtpSendJitterMs.max, 2)}`],
        ...(ref
          ? [[`  same at ${ref.calls} calls (reference; audio both ways ${ref.audioBothWays}/${ref.calls})`, `${pq(ref.sendDeviationMs)} / ${fmt(result.reference?.rtpSendJitterMs.max ?? 0, 2)}`] as [string, string]]
          : []),
        [`simulated card's event-loop delay at ${calls}${ref ? ` / ${ref.calls}` : ''} calls, p99 / max ms (late TDM ticks)`, `${fmt(hold.simLoopDelayP99Ms)} / ${fmt(hold.simLoopDelayMaxMs)}${ref ? `  |  ${fmt(ref.simLoopDelayP99Ms)}` : ''}`],
        ['simulated card: PCM underruns / overruns / host PCM dropped', `${simStats['pcmUnderruns'] ?? '-'} / ${simStats['pcmOverruns'] ?? '-'} / ${simStats['hostPcmDropped'] ?? '-'}`],
        ['load average before / after (1 min)', `${fmt(loadBefore[0] ?? 0, 2)} / ${fmt(result.machine.loadAvgAfter[0] ?? 0, 2)}`],
      ];
      const w = Math.max(...rows.map(([k]) => k.length));
      console.log(`\ntonewall bench:sip — e1-pri-4 simulated card (120 B channels) over its ${values['card-transport'] === 'socket' ? 'unix socket' : 'pty'}, ${cores} cores, ${fmt(result.wallS, 0)} s\n`);
      for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
      console.log(`\nappliance warnings and errors (level: message × count): ${[...logCounts].map(([k, n]) => `${k} × ${n}`).join('; ') || 'none'}`);
    }
    return 0;
  } finally {
    writeFileSync(join(dir, 'appliance.log'), sys.log());
    await sys.stop();
    await broker.dispose();
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
