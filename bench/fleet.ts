/**
 * `npm run bench:fleet`: the fleet reporter's numbers (DESIGN.md §9: MQTT event latency, state
 * change → broker, p99 ≤ 50 ms; broker outage: nothing lost) against Debian's mosquitto on this
 * machine. The real FleetReporter and SQLite store (WAL, synchronous=FULL) in this process; a
 * subscriber on the same broker stamps arrivals. Each figure is the median over `--runs` (default 3).
 *
 *  - throughput: N events, each committed in its own transaction (as state changes are) while
 *    connected, from the first commit to the last PUBACK: events/s through outbox → broker (QoS 1);
 *  - latency: one event committed, then the time until the subscriber has it (state change →
 *    broker delivery), sequentially, p50 / p99;
 *  - drain: the broker is stopped, M events are committed, the broker restarts; from the reporter's
 *    CONNACK to the last event acknowledged: backlog drain rate (events/s);
 *  - RSS of this process (reporter, store, subscriber) after the runs.
 */
import { parseArgs } from 'node:util';
import { createFleetHarness, type FleetHarness } from '../test/lib/fleet-harness';
import { FleetSubscriber } from '../test/lib/fleet-subscriber';
import { mosquittoAvailable, startMosquitto, type Mosquitto } from '../test/lib/mosquitto';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
};

function connected(h: FleetHarness): Promise<void> {
  return h.reporter.connected ? Promise.resolve() : new Promise((resolve) => h.reporter.once('connected', () => resolve()));
}

function ackedAll(h: FleetHarness, count: number): Promise<void> {
  return new Promise((resolve) => {
    let n = 0;
    const on = (): void => {
      if (++n < count) return;
      h.reporter.off('event-acked', on);
      resolve();
    };
    h.reporter.on('event-acked', on);
  });
}

async function throughput(broker: Mosquitto, n: number): Promise<number> {
  const h = createFleetHarness(broker.url);
  try {
    h.reporter.start();
    await connected(h);
    const done = ackedAll(h, n);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      h.store.transaction(() => h.store.outbox.append('events/call', { i, bench: 'throughput' }));
      h.reporter.kick();
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await done;
    return (n * 1000) / (performance.now() - t0);
  } finally {
    await h.dispose();
  }
}

async function latency(broker: Mosquitto, samples: number): Promise<number[]> {
  const h = createFleetHarness(broker.url);
  const sub = await FleetSubscriber.connect(broker.url, [`${h.root}/events/#`]);
  const out: number[] = [];
  try {
    h.reporter.start();
    await connected(h);
    for (let i = 0; i < samples; i++) {
      const got = new Promise<number>((resolve) => {
        const on = (topic: string, payload: Buffer): void => {
          if (!payload.includes(`"lat":${i},`)) return;
          sub.client.off('message', on);
          resolve(performance.now());
        };
        sub.client.on('message', on);
      });
      const t0 = performance.now();
      h.store.transaction(() => h.store.outbox.append('events/call', { lat: i, pad: 0 }));
      h.reporter.kick();
      out.push((await got) - t0);
    }
    return out;
  } finally {
    await sub.close();
    await h.dispose();
  }
}

async function drain(broker: Mosquitto, m: number): Promise<number> {
  const h = createFleetHarness(broker.url);
  try {
    h.reporter.start();
    await connected(h);
    const down = new Promise<void>((resolve) => h.reporter.once('disconnected', () => resolve()));
    await broker.stop();
    await down;
    for (let i = 0; i < m; i++) h.store.transaction(() => h.store.outbox.append('events/call', { i, bench: 'drain' }));
    const done = ackedAll(h, m);
    const up = new Promise<number>((resolve) => h.reporter.once('connected', () => resolve(performance.now())));
    await broker.restart();
    const t0 = await up;
    await done;
    return (m * 1000) / (performance.now() - t0);
  } finally {
    await h.dispose();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, events: { type: 'string', default: '2000' }, samples: { type: 'string', default: '300' }, backlog: { type: 'string', default: '4000' } } });
  const runs = Number(values.runs);
  const n = Number(values.events);
  const samples = Number(values.samples);
  const backlog = Number(values.backlog);
  if (!mosquittoAvailable()) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
  const broker = await startMosquitto();
  try {
    console.log(`bench:fleet — FleetReporter + SQLite outbox (WAL, synchronous=FULL) → Debian mosquitto, QoS 1, ${runs} runs, medians`);
    const tp: number[] = [];
    const p50: number[] = [];
    const p99: number[] = [];
    const dr: number[] = [];
    for (let r = 0; r < runs; r++) {
      tp.push(await throughput(broker, n));
      const lat = await latency(broker, samples);
      p50.push(percentile(lat, 50));
      p99.push(percentile(lat, 99));
      dr.push(await drain(broker, backlog));
      console.log(`  run ${r + 1}: ${tp.at(-1)?.toFixed(0)} events/s, latency p50 ${p50.at(-1)?.toFixed(2)} ms p99 ${p99.at(-1)?.toFixed(2)} ms, drain ${dr.at(-1)?.toFixed(0)} events/s`);
    }
    const rssMb = process.memoryUsage().rss / (1024 * 1024);
    console.log(`events through outbox → broker (each its own transaction): ${median(tp).toFixed(0)} events/s (${n} events)`);
    console.log(`latency state change → broker delivery: p50 ${median(p50).toFixed(2)} ms, p99 ${median(p99).toFixed(2)} ms (${samples} sequential events; target p99 ≤ 50 ms)`);
    console.log(`backlog drain after an outage: ${median(dr).toFixed(0)} events/s (${backlog} events, CONNACK → last PUBACK)`);
    console.log(`RSS: ${rssMb.toFixed(1)} MB (this process: reporter, store, subscriber)`);
    return 0;
  } finally {
    await broker.dispose();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`bench:fleet failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
