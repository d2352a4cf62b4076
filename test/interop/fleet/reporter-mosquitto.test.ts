/**
 * The fleet reporter against Debian's mosquitto 2.0 (MQTT 5): retained status and info, the last
 * will with its `conn`, outbox events in order, a broker outage with nothing lost, call snapshots,
 * and the publish guard on the wire.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFleetHarness, newDeviceId, type FleetHarness } from '../../lib/fleet-harness';
import { FleetSubscriber, type Received } from '../../lib/fleet-subscriber';
import { type Mosquitto, mosquittoOrSkip, startMosquitto } from '../../lib/mosquitto';

function eventsOf(msgs: Received[], root: string): Received[] {
  return msgs.filter((m) => m.topic.startsWith(`${root}/events/`));
}

/** First occurrence of each event id, in arrival order (consumers dedupe by id). */
function dedupe(msgs: Received[]): Received[] {
  const seen = new Set<unknown>();
  return msgs.filter((m) => {
    const id = m.json?.['id'];
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

describe('fleet reporter with Debian mosquitto (MQTT 5)', function () {
  this.timeout(60_000);
  let broker: Mosquitto | undefined;
  const cleanups: (() => Promise<void>)[] = [];

  before(async function () {
    mosquittoOrSkip(this);
    broker = await startMosquitto();
  });
  after(async () => {
    await broker?.dispose();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function url(): string {
    assert.ok(broker);
    return broker.url;
  }

  async function harness(): Promise<FleetHarness> {
    const h = createFleetHarness(url());
    cleanups.push(() => h.dispose());
    return Promise.resolve(h);
  }

  async function subscriber(filters: string[], opts = {}): Promise<FleetSubscriber> {
    const s = await FleetSubscriber.connect(url(), filters, opts);
    cleanups.push(() => s.close());
    return s;
  }

  it('status online (retained, conn) then info (retained) with MQTT 5 JSON properties', async () => {
    const h = await harness();
    h.reporter.start();
    await new Promise<void>((resolve) => h.reporter.once('connected', () => resolve()));
    // A subscriber arriving later sees the retained birth.
    const sub = await subscriber([`${h.root}/status`, `${h.root}/info`]);
    const status = await sub.waitFor('retained status', (m) => m.find((x) => x.topic === `${h.root}/status`));
    const info = await sub.waitFor('retained info', (m) => m.find((x) => x.topic === `${h.root}/info`));
    assert.equal(status.retain, true);
    assert.equal(info.retain, true);
    assert.deepEqual(
      { state: status.json?.['state'], reason: status.json?.['reason'], conn: status.json?.['conn'], v: status.json?.['v'], dev: status.json?.['dev'], boot: status.json?.['boot'] },
      { state: 'online', reason: 'startup', conn: 1, v: 1, dev: h.deviceId, boot: h.reporter.boot },
    );
    assert.ok(Number(info.json?.['seq']) > Number(status.json?.['seq']), 'info published after status');
    assert.equal(status.packet.properties?.contentType, 'application/json');
    assert.equal(status.packet.properties?.payloadFormatIndicator, true);
    assert.deepEqual({ ...status.packet.properties?.userProperties }, { schema: 'status@1' });
  });

  it('last will: a SIGKILLed reporter turns offline/lwt with the conn of its connection', async () => {
    const deviceId = newDeviceId();
    const root = `tonewall/v1/${deviceId}`;
    const dir = mkdtempSync(join(tmpdir(), 'tw-will-'));
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const sub = await subscriber([`${root}/status`]);
    const runChild = (): Promise<{ child: ChildProcess; conn: number }> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [join(__dirname, 'reporter-child.js'), url(), dir, deviceId], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
        let out = '';
        let err = '';
        child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /connected (\d+)/.exec(out);
          if (m) resolve({ child, conn: Number(m[1]) });
        });
        child.once('exit', (code) => reject(new Error(`reporter child exited (${code}) before connecting: ${err}`)));
      });
    const kill = (child: ChildProcess): Promise<void> =>
      new Promise((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });

    // Two runs on the same state dir: the persisted CONNECT counter goes up, and each will carries
    // the conn of the connection that set it.
    for (const expectedConn of [1, 2]) {
      const run = await runChild();
      assert.equal(run.conn, expectedConn);
      await sub.waitFor(`online conn ${run.conn}`, (m) => m.find((x) => x.json?.['state'] === 'online' && x.json['conn'] === run.conn));
      await kill(run.child);
      const will = await sub.waitFor(`offline lwt conn ${run.conn}`, (m) => m.find((x) => x.json?.['state'] === 'offline' && x.json['conn'] === run.conn));
      assert.equal(will.json?.['reason'], 'lwt');
      assert.equal(will.json?.['dev'], deviceId);
      // And it is the retained truth a newcomer sees.
      const late = await subscriber([`${root}/status`]);
      const retained = await late.waitFor('retained will', (m) => m.find((x) => x.retain));
      assert.deepEqual([retained.json?.['state'], retained.json?.['reason'], retained.json?.['conn']], ['offline', 'lwt', run.conn]);
    }
    const states = sub.messages.map((m) => `${String(m.json?.['state'])}/${String(m.json?.['conn'])}`);
    assert.deepEqual(states, ['online/1', 'offline/1', 'online/2', 'offline/2']);
  });

  it('outbox events go out in seq order with unique ids, and are acked in the store', async () => {
    const h = await harness();
    const sub = await subscriber([`${h.root}/events/#`]);
    h.reporter.start();
    await new Promise<void>((resolve) => h.reporter.once('connected', () => resolve()));
    const n = 100;
    for (let i = 0; i < n; i++) {
      h.store.transaction(() => h.store.outbox.append(i % 3 ? 'events/call' : 'events/pay', { i }));
      h.reporter.kick();
    }
    const got = await sub.waitFor(`${n} events`, (m) => (dedupe(eventsOf(m, h.root)).length >= n ? dedupe(eventsOf(m, h.root)) : undefined));
    assert.deepEqual(got.map((e) => (e.json?.['data'] as { i: number }).i), Array.from({ length: n }, (_, i) => i));
    assert.equal(new Set(got.map((e) => e.json?.['id'])).size, n);
    assert.ok(got.every((e) => e.json?.['historical'] === undefined), 'created on this connection: not historical');
    assert.equal(got[0]?.topic, `${h.root}/events/pay`);
    assert.equal(got[1]?.json?.['type'], 'call');
    await FleetSubscriber.until('outbox drained', () => h.store.outbox.depth() === 0);
    assert.equal(h.reporter.metrics.eventsPublished, n);
  });

  it('broker outage: events appended meanwhile go out in order, historical, none lost', async () => {
    assert.ok(broker);
    const h = await harness();
    // A persistent subscriber session so the broker queues for it across its own restart.
    const sub = await subscriber([`${h.root}/events/#`], { clientId: `tw-outage-sub-${process.pid}`, clean: false, properties: { sessionExpiryInterval: 600 } });
    h.reporter.start();
    await new Promise<void>((resolve) => h.reporter.once('connected', () => resolve()));
    for (let i = 0; i < 10; i++) h.store.transaction(() => h.store.outbox.append('events/call', { i, phase: 'before' }));
    h.reporter.kick();
    await sub.waitFor('10 events before the outage', (m) => (dedupe(eventsOf(m, h.root)).length >= 10 ? true : undefined));

    const down = new Promise<void>((resolve) => h.reporter.once('disconnected', () => resolve()));
    await broker.stop();
    await down;
    for (let i = 10; i < 40; i++) {
      h.store.transaction(() => h.store.outbox.append('events/call', { i, phase: 'during' }));
      h.reporter.kick();
    }
    assert.equal(h.store.outbox.depth(), 30, 'events wait in the outbox while the broker is away');
    const up = new Promise<void>((resolve) => h.reporter.once('connected', () => resolve()));
    await broker.restart();
    await up;
    for (let i = 40; i < 50; i++) {
      h.store.transaction(() => h.store.outbox.append('events/call', { i, phase: 'after' }));
      h.reporter.kick();
    }
    const got = await sub
      .waitFor('all 50 events', (m) => (dedupe(eventsOf(m, h.root)).length >= 50 ? dedupe(eventsOf(m, h.root)) : undefined), 30_000)
      .catch((err: Error) => {
        const seen = dedupe(eventsOf(sub.messages, h.root)).map((e) => (e.json?.['data'] as { i: number }).i);
        throw new Error(`${err.message}; got i=${seen.join(',')}; outbox depth ${h.store.outbox.depth()}; metrics ${JSON.stringify(h.reporter.metrics)}; broker log tail:\n${broker?.log().slice(-3000) ?? ''}`);
      });
    assert.deepEqual(got.map((e) => (e.json?.['data'] as { i: number }).i), Array.from({ length: 50 }, (_, i) => i), 'in order, none lost');
    for (const e of got) {
      const phase = (e.json?.['data'] as { phase: string }).phase;
      if (phase === 'during') assert.equal(e.json?.['historical'], true, 'created while disconnected');
      if (phase === 'after') assert.equal(e.json?.['historical'], undefined, 'created on the new connection');
      if (phase === 'during' || phase === 'after') assert.ok(Number(e.json?.['conn']) > 1, 'sent on a later connection than the first');
    }
    await FleetSubscriber.until('outbox drained', () => h.store.outbox.depth() === 0);
  });

  it('call snapshots: retained with message expiry, cleared by an empty retained payload', async () => {
    const h = await harness();
    h.reporter.start();
    await new Promise<void>((resolve) => h.reporter.once('connected', () => resolve()));
    const watcher = await subscriber([`${h.root}/calls/#`]);
    h.reporter.setCallSnapshot('c-1', { callId: 'c-1', state: 'active', dir: 'in', port: 1, startedAt: Date.now(), payActive: false });
    const snap = await watcher.waitFor('snapshot', (m) => m.find((x) => x.topic === `${h.root}/calls/c-1` && x.text !== ''));
    assert.equal(snap.json?.['state'], 'active');
    assert.ok((snap.packet.properties?.messageExpiryInterval ?? 0) > 0, 'message expiry set');
    const late = await subscriber([`${h.root}/calls/#`, `${h.root}/test-barrier`]);
    await late.waitFor('retained snapshot', (m) => m.find((x) => x.retain && x.topic === `${h.root}/calls/c-1`));

    h.reporter.setCallSnapshot('c-1', null);
    await watcher.waitFor('clear', (m) => m.find((x) => x.topic === `${h.root}/calls/c-1` && x.text === ''));
    const after = await subscriber([`${h.root}/calls/#`, `${h.root}/test-barrier`]);
    await after.barrier(`${h.root}/test-barrier`);
    assert.deepEqual(after.on('/calls/c-1'), [], 'no retained snapshot after the clear');
  });

  it('the publish guard keeps a card-like value off the wire and counts it', async () => {
    const h = await harness();
    h.reporter.start();
    await new Promise<void>((resolve) => h.reporter.once('connected', () => resolve()));
    const sub = await subscriber([`${h.root}/#`]);
    h.reporter.setCallSnapshot('c-2', { callId: 'c-2', state: 'active', dir: 'in', trunk: '4111111111111111', startedAt: Date.now(), payActive: true });
    await sub.barrier(`${h.root}/test-barrier`);
    assert.equal(sub.messages.filter((m) => m.text.includes('4111111111111111')).length, 0);
    assert.equal(h.reporter.metrics.guardRefused, 1);
  });

  it('a refused CONNECT (not authorised) is retried with backoff and publishes nothing', async () => {
    const strict = await startMosquitto({ extraConf: [] });
    cleanups.push(() => strict.dispose());
    const { readFileSync, writeFileSync } = await import('node:fs');
    const conf = join(strict.dir, 'mosquitto.conf');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace('allow_anonymous true', 'allow_anonymous false'));
    await strict.restart();
    const h = createFleetHarness(strict.url);
    cleanups.push(() => h.dispose());
    h.store.outbox.append('events/system', { what: 'waiting' });
    h.reporter.start();
    await FleetSubscriber.until('three refused attempts', () => h.reporter.metrics.connectFailures >= 3);
    const m = h.reporter.metrics;
    assert.equal(m.sessions, 0);
    assert.equal(m.published, 0);
    assert.equal(m.conn, m.connectAttempts, 'every CONNECT attempt took a new conn');
    assert.equal(h.store.outbox.depth(), 1, 'the event still waits in the outbox');
    assert.match(strict.log(), /not authori[sz]ed|Client .* disconnected, not authorised/i);
  });
});
