/**
 * `tonewall demo [--once] [--json] [--config F] [--mqtt-url URL] [--card N --expiry MMYY --cvv N]`:
 * the appliance on its embedded defaults (simulated card with a scripted caller, demo contact
 * center, embedded broker unless --mqtt-url, in-process test payment processor) and a watcher that
 * prints every MQTT message the appliance publishes.
 *
 * The demo plays the agent too: when a call is answered it starts a secure payment on it, as an
 * agent's `pay.start` would; the caller keys a card (made up per call, or --card/--expiry/--cvv),
 * the digits are masked out of the audio the contact center hears and go encrypted to the test
 * processor; the watcher shows the masked progress and the result. Nothing printed shows the digits.
 *
 * `--once` places one scripted call and exits when MQTT reports it ended; with `--json` it prints a
 * JSON summary of the call as MQTT reported it (and what the demo contact center heard) and exits 0.
 */
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { demoCall } from '../../../hw/sim/call-script';
import { ConfigError, loadConfig } from '../../config/load';
import type { Config } from '../../config/schema';
import { Appliance } from '../appliance';
import { rootLogger, waitForSignal } from '../runtime';
import { flagOverrides, RUN_OPTIONS } from './run';

const ONCE_TIMEOUT_MS = 90_000;

interface SeenMessage {
  topic: string;
  retained: boolean;
  body: Record<string, unknown> | null;
}

function parseBody(payload: Buffer): Record<string, unknown> | null {
  if (payload.length === 0) return null;
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return { unparsed: payload.length };
  }
}

function describe(m: SeenMessage, root: string): string {
  const rel = m.topic.startsWith(root) ? m.topic.slice(root.length) : m.topic;
  if (!m.body) return `${rel}  (cleared)`;
  const b = m.body;
  if (rel === 'events/pay') return `${rel}  ${String(b['type'])}  ${describePay(b['data'])}`;
  if (rel.startsWith('events/')) return `${rel}  ${String(b['type'])}  ${JSON.stringify(b['data'])}`;
  if (rel === 'status') return `${rel}  ${String(b['state'])} (${String(b['reason'])}) conn=${String(b['conn'])}`;
  if (rel.startsWith('calls/')) return `${rel}  ${String(b['state'])}`;
  const { v: _v, ts: _ts, dev: _d, boot: _b, conn: _c, seq: _s, ...rest } = b;
  return `${rel}  ${JSON.stringify(rest)}`;
}

/** One line of masked payment progress: state, per-field counts and validity, result. */
function describePay(data: unknown): string {
  const d = (data ?? {}) as { state?: string; field?: string; fields?: { field: string; count: number; complete: boolean; valid?: boolean; brand?: string; last4?: string }[]; result?: { outcome: string; last4?: string; brand?: string; masking?: { maskedTones: number; secondCheck?: { digitsFound: number } } } };
  const fields = (d.fields ?? []).map((f) => `${f.field}:${f.count}${f.complete ? (f.valid ? ' ok' : ' invalid') : ''}${f.brand ? ` ${f.brand}` : ''}${f.last4 ? ` ••••${f.last4}` : ''}`).join(', ');
  const r = d.result;
  const result = r ? ` → ${r.outcome}${r.masking ? ` (masked tones ${r.masking.maskedTones}, second check found ${r.masking.secondCheck?.digitsFound ?? 0})` : ''}` : '';
  return `${d.state ?? ''}${d.field ? ` [${d.field}]` : ''}  ${fields}${result}`;
}

/** --card/--expiry/--cvv as the simulated caller's keypresses (each ended by #), checked for shape only. */
function demoKeys(v: { card?: string; expiry?: string; cvv?: string }): string | Error | undefined {
  if (v.card === undefined) return v.expiry !== undefined || v.cvv !== undefined ? new Error('--expiry and --cvv go with --card') : undefined;
  if (!/^\d{12,19}$/.test(v.card)) return new Error('--card takes 12 to 19 digits');
  const expiry = v.expiry ?? `12${String((new Date().getUTCFullYear() + 2) % 100).padStart(2, '0')}`;
  if (!/^(0[1-9]|1[0-2])\d\d$/.test(expiry)) return new Error('--expiry takes MMYY');
  const cvv = v.cvv ?? '123';
  if (!/^\d{3,4}$/.test(cvv)) return new Error('--cvv takes 3 or 4 digits');
  return `${v.card}#${expiry}#${cvv}#`;
}

function watch(url: string, protocolVersion: 4 | 5, topicRoot: string, onMessage: (m: SeenMessage) => void): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion, clientId: `tonewall-demo-watch-${process.pid}`, reconnectPeriod: 1000, connectTimeout: 5000 });
    client.on('message', (topic, payload, packet) => onMessage({ topic, retained: packet.retain, body: parseBody(payload) }));
    client.once('connect', () => {
      client.subscribe(`${topicRoot}/#`, { qos: 1 }, (err) => (err ? reject(err) : resolve(client)));
    });
    client.once('error', reject);
  });
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...RUN_OPTIONS, once: { type: 'boolean' }, json: { type: 'boolean' }, card: { type: 'string' }, expiry: { type: 'string' }, cvv: { type: 'string' }, 'no-payment': { type: 'boolean' } },
  });
  if (values.help) {
    console.log('usage: tonewall demo [--once] [--json] [--config FILE] [--mqtt-url URL] [--log-level L] [--card NUMBER [--expiry MMYY] [--cvv NNN]] [--no-payment]');
    return 0;
  }
  const keys = demoKeys(values);
  if (keys instanceof Error) {
    console.error(`tonewall demo: ${keys.message}`);
    return 2;
  }
  const demoDefaults = { card: { sim: { enabled: true } }, sip: { demoEndpoint: { enabled: true } } };
  let config: Config;
  try {
    const overrides: Record<string, unknown> = { ...demoDefaults, ...flagOverrides(values) };
    if (values.json && !values['log-level']) overrides['log'] = { level: 'warn' };
    config = loadConfig({ file: values.config, overrides }).config;
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `tonewall demo: ${(err as Error).message}`);
    return 1;
  }
  const log = rootLogger(config);
  const sim = config.card.sim;
  const app = new Appliance({
    config,
    log,
    ...(keys ? { simDemoKeys: keys } : {}),
    ...(values.once ? { simScript: [demoCall(0, { ports: [1], callDurationMs: sim.callDurationMs, callerNumber: sim.callerNumber, callerName: sim.callerName, ...(keys ? { keys } : {}) })] } : {}),
  });
  let payments = 0;
  if (!values['no-payment']) {
    // The demo agent: a payment on every answered call, as an agent's pay.start would ask.
    app.on('call', (record, event) => {
      if (event !== 'call.answered' || !app.payments?.enabled) return;
      payments++;
      try {
        app.payments.startPayment({ requestId: `demo-${record.callId}`, callId: record.callId, fields: ['card-number', 'expiry', 'security-code'], amountMinor: 1999, currency: 'USD', reference: `demo-${payments}` });
      } catch (err) {
        log.warn('demo payment not started', { callId: record.callId, err: (err as Error).message });
      }
    });
  }
  try {
    await app.start();
  } catch {
    return 1;
  }
  const root = `${config.mqtt.topicRoot}/${config.device.id}/`;
  const seen: SeenMessage[] = [];
  let ended: (() => void) | undefined;
  const callEnded = new Promise<void>((resolve) => (ended = resolve));
  const watcher = await watch(app.mqttUrl, app.broker ? 4 : 5, `${config.mqtt.topicRoot}/${config.device.id}`, (m) => {
    seen.push(m);
    if (!values.json) console.log(`mqtt  ${describe(m, root)}`);
    if (m.topic === `${root}events/call` && m.body?.['type'] === 'call.ended') ended?.();
  });
  if (!values.json) {
    console.log(`tonewall demo: appliance ${config.device.id} running; MQTT on ${app.mqttUrl} (watch with: mosquitto_sub -h ${new URL(app.mqttUrl).hostname} -p ${new URL(app.mqttUrl).port} -t '${config.mqtt.topicRoot}/#' -v)`);
    app.demo?.on('call-ended', (s) => console.log(`agent heard ${s.packetsReceived} RTP packets from the caller (level ${s.rmsDbfs.toFixed(1)} dBFS), echoed ${s.packetsEchoed}`));
  }

  let code = 0;
  if (values.once) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ONCE_TIMEOUT_MS)));
    const outcome = await Promise.race([callEnded.then(() => 'ended' as const), timeout, waitForSignal()]);
    clearTimeout(timer);
    if (outcome !== 'ended') {
      console.error(`tonewall demo: the scripted call did not end within ${ONCE_TIMEOUT_MS / 1000} s (${outcome})`);
      code = 1;
    } else if (values.json) {
      console.log(JSON.stringify(summary(seen, root, app, config.device.id), null, 2));
    }
  } else {
    await waitForSignal();
  }
  await app.stop('shutdown');
  watcher.end(true);
  return code;
}

/** The call as MQTT reported it, and what the demo contact center heard. */
function summary(seen: SeenMessage[], root: string, app: Appliance, device: string) {
  const events = seen.filter((m) => m.topic === `${root}events/call` && m.body).map((m) => m.body as Record<string, unknown>);
  const last = events.at(-1);
  const data = (last?.['data'] ?? {}) as Record<string, unknown>;
  const callId = typeof data['callId'] === 'string' ? data['callId'] : null;
  const status = seen.filter((m) => m.topic === `${root}status`).map((m) => m.body?.['state']);
  const snapshots = callId ? seen.filter((m) => m.topic === `${root}calls/${callId}`).map((m) => (m.body ? String(m.body['state']) : 'cleared')) : [];
  const agent = app.demo?.calls.find((c) => c.applianceCallId === callId);
  const payEnded = seen.filter((m) => m.topic === `${root}events/pay` && m.body?.['type'] === 'pay.ended').map((m) => m.body?.['data'] as Record<string, unknown>);
  const payment = payEnded.find((p) => p['callId'] === callId);
  return {
    device,
    callId,
    status: status.at(-1) ?? null,
    events: events.map((e) => ({ id: e['id'], type: e['type'], data: e['data'] })),
    snapshots,
    ended: data,
    payment: payment ? { sessionId: payment['sessionId'], state: payment['state'], fields: payment['fields'], result: payment['result'] } : null,
    agent: agent ? { codec: agent.codec, packetsReceived: agent.packetsReceived, packetsEchoed: agent.packetsEchoed, rmsDbfs: agent.rmsDbfs, nonSilent: agent.nonSilent } : null,
  };
}
