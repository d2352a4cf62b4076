/**
 * A simulated call through the downlink jitter buffer, on simulated time (no timers, no sleeping):
 * the far end sends a 20 ms packet of a sine every 20 ms of ITS clock, which runs `ppm` parts per
 * million fast (+) or slow (-) against the card's; the network adds delay jitter (uniform
 * 0..jitterMs, plus rare spikes of 2 × jitterMs) and loses `lossPct` % of the packets at random;
 * the card pulls 10 ms every 10 ms of ITS clock. Fixed seeds: the same options give the same figures.
 */
import { JitterBuffer } from '../../controller/media/jitter-buffer';

export interface DriftSimOptions {
  durationS: number;
  ppm: number;
  jitterMs: number;
  lossPct: number;
  seed: number;
  toneHz?: number;
  amplitude?: number;
  /** Figures are taken after this much card time (s). */
  warmupS?: number;
}

export interface DriftSimFigures {
  packetsSent: number;
  packetsLost: number;
  depthMinMs: number;
  depthMaxMs: number;
  targetMinMs: number;
  targetMaxMs: number;
  underrunsAfterWarmup: number;
  concealedSamples: number;
  droppedSamples: number;
  insertedSamples: number;
  overflowSamples: number;
  late: number;
  /** Largest |x[n] - x[n-1]| in the output after warm-up, and the clean sine's own. */
  maxStep: number;
  ownStep: number;
  cpuMs: number;
}

/** mulberry32: a small seeded PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function simulateDrift(o: DriftSimOptions): DriftSimFigures {
  const started = process.cpuUsage();
  const rnd = seededRandom(o.seed);
  const hz = o.toneHz ?? 440;
  const amp = o.amplitude ?? 8000;
  const w = (2 * Math.PI * hz) / 8000;
  const warmupMs = (o.warmupS ?? 10) * 1000;
  const farMsPerPacket = 20 / (1 + o.ppm / 1e6);
  const packets = Math.floor((o.durationS * 1000) / farMsPerPacket);
  const arrivals: Array<{ at: number; n: number }> = [];
  let lost = 0;
  for (let n = 0; n < packets; n++) {
    if (rnd() * 100 < o.lossPct) {
      lost++;
      continue;
    }
    const spike = rnd() < 0.002 ? 2 * o.jitterMs : 0;
    arrivals.push({ at: n * farMsPerPacket + 30 + rnd() * o.jitterMs + spike, n });
  }
  arrivals.sort((a, b) => a.at - b.at);
  const jb = new JitterBuffer({ minDepthMs: 20, initialDepthMs: 40, maxDepthMs: 200 });
  const startTs = 123456789;
  const payload = new Int16Array(160);
  const fig = { depthMin: Infinity, depthMax: 0, targetMin: Infinity, targetMax: 0, underrunsAtWarmup: 0, maxStep: 0 };
  let prev: number | undefined;
  let ai = 0;
  const pulls = Math.floor((o.durationS * 1000) / 10);
  for (let p = 0; p < pulls; p++) {
    const now = p * 10;
    for (; ai < arrivals.length && (arrivals[ai]?.at ?? Infinity) <= now; ai++) {
      const n = (arrivals[ai] as { n: number }).n;
      for (let i = 0; i < 160; i++) payload[i] = Math.round(amp * Math.sin(w * (n * 160 + i)));
      jb.push((startTs + n * 160) >>> 0, payload, arrivals[ai]?.at ?? now);
    }
    const out = jb.pull(80);
    if (now === warmupMs) fig.underrunsAtWarmup = jb.counters.underruns;
    if (now >= warmupMs) {
      const depthMs = jb.depthSamples / 8;
      fig.depthMin = Math.min(fig.depthMin, depthMs);
      fig.depthMax = Math.max(fig.depthMax, depthMs);
      fig.targetMin = Math.min(fig.targetMin, jb.targetDepthMs);
      fig.targetMax = Math.max(fig.targetMax, jb.targetDepthMs);
      for (const v of out) {
        if (prev !== undefined) fig.maxStep = Math.max(fig.maxStep, Math.abs(v - prev));
        prev = v;
      }
    }
  }
  const cpu = process.cpuUsage(started);
  const c = jb.counters;
  return {
    packetsSent: packets,
    packetsLost: lost,
    depthMinMs: fig.depthMin,
    depthMaxMs: fig.depthMax,
    targetMinMs: fig.targetMin,
    targetMaxMs: fig.targetMax,
    underrunsAfterWarmup: c.underruns - fig.underrunsAtWarmup,
    concealedSamples: c.concealedSamples,
    droppedSamples: c.droppedSamples,
    insertedSamples: c.insertedSamples,
    overflowSamples: c.overflowSamples,
    late: c.late,
    maxStep: fig.maxStep,
    ownStep: amp * 2 * Math.sin(w / 2),
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}
