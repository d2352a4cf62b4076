/**
 * The MQTT side of a leak run (issue #6):
 *
 * - `MqttRecorder`: subscribes `#` on the broker (MQTT 5) and keeps every message it sees, topic,
 *   payload and retain flag; `retained()` collects what the broker still holds retained at the end.
 * - `LeakAgent`: plays the contact-center agent. On each `events/call` call.answered it sends
 *   `pay.start` (MQTT 5 request/response, `callRpc`), waits for the session's `pay.ended` on
 *   `events/pay`, then hangs the call up with `call.hangup`.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { callRpc, type RpcReply } from '../../controller/fleet/rpc';

export interface RecordedMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
}

function connect(url: string, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 5, clientId, reconnectPeriod: 0 });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

function subscribe(client: MqttClient, topic: string): Promise<void> {
  return new Promise((resolve, reject) => client.subscribe(topic, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
}

export class MqttRecorder {
  readonly messages: RecordedMessage[] = [];
  private constructor(private readonly client: MqttClient) {}

  static async start(url: string): Promise<MqttRecorder> {
    const client = await connect(url, 'leak-recorder');
    const r = new MqttRecorder(client);
    client.on('message', (topic, payload, packet) => r.messages.push({ topic, payload: Buffer.from(payload), retain: packet.retain }));
    await subscribe(client, '#');
    return r;
  }

  /** What the broker holds retained now: a fresh subscriber's retained deliveries within `waitMs`. */
  static async retained(url: string, waitMs = 1500): Promise<RecordedMessage[]> {
    const client = await connect(url, 'leak-retained');
    const got: RecordedMessage[] = [];
    client.on('message', (topic, payload, packet) => {
      if (packet.retain) got.push({ topic, payload: Buffer.from(payload), retain: true });
    });
    await subscribe(client, '#');
    await new Promise((r) => setTimeout(r, waitMs));
    await client.endAsync();
    return got;
  }

  private stopped = false;

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.client.endAsync();
  }
}

export interface AgentCall {
  callId: string;
  /** The appliance's answer time (event data `answeredAt`, ms epoch). */
  answeredAt: number | undefined;
  payStart?: RpcReply;
  payStartError?: string;
  ended?: Record<string, unknown>;
  hangup?: RpcReply;
  hangupError?: string;
  callEnded: boolean;
}

export interface LeakAgentOptions {
  url: string;
  root: string;
  dev: string;
  fields: readonly string[];
  rpcTimeoutMs: number;
}

function body(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(payload.toString('utf8'));
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export class LeakAgent {
  readonly calls = new Map<string, AgentCall>();
  /** Sessions ended, by session id (the data of each `pay.ended`). */
  readonly sessionsEnded = new Map<string, Record<string, unknown>>();
  /** When the last call or pay event arrived (ms epoch). */
  lastEventMs = Date.now();
  private readonly pending = new Set<Promise<void>>();
  private seq = 0;

  private constructor(
    private readonly client: MqttClient,
    private readonly o: LeakAgentOptions,
  ) {}

  static async start(o: LeakAgentOptions): Promise<LeakAgent> {
    const client = await connect(o.url, 'leak-agent');
    // callRpc adds a message listener per request in flight; up to one per live call.
    client.setMaxListeners(0);
    const agent = new LeakAgent(client, o);
    const base = `${o.root}/${o.dev}/`;
    client.on('message', (topic, payload) => {
      agent.lastEventMs = Date.now();
      if (topic === `${base}events/call`) agent.onCallEvent(body(payload));
      else if (topic === `${base}events/pay`) agent.onPayEvent(body(payload));
    });
    await subscribe(client, `${base}events/call`);
    await subscribe(client, `${base}events/pay`);
    return agent;
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private rpc(method: string, params: Record<string, unknown>): Promise<RpcReply> {
    return callRpc(this.client, { root: this.o.root, dev: this.o.dev, method, params, requester: 'leak-agent', timeoutMs: this.o.rpcTimeoutMs });
  }

  private onCallEvent(b: Record<string, unknown> | undefined): void {
    const data = b?.['data'] as Record<string, unknown> | undefined;
    const callId = typeof data?.['callId'] === 'string' ? data['callId'] : undefined;
    if (!callId) return;
    if (b?.['type'] === 'call.answered' && !this.calls.has(callId)) {
      const call: AgentCall = { callId, answeredAt: typeof data?.['answeredAt'] === 'number' ? data['answeredAt'] : undefined, callEnded: false };
      this.calls.set(callId, call);
      this.track(this.startPayment(call));
    } else if (b?.['type'] === 'call.ended') {
      const call = this.calls.get(callId);
      if (call) call.callEnded = true;
    }
  }

  private async startPayment(call: AgentCall): Promise<void> {
    const params = { requestId: `leak-${++this.seq}`, callId: call.callId, fields: [...this.o.fields], amountMinor: 1999, currency: 'EUR', reference: `leak-${this.seq}` };
    try {
      call.payStart = await this.rpc('pay.start', params);
    } catch (err) {
      call.payStartError = err instanceof Error ? err.message : String(err);
    }
  }

  private onPayEvent(b: Record<string, unknown> | undefined): void {
    if (b?.['type'] !== 'pay.ended') return;
    const data = b['data'] as Record<string, unknown> | undefined;
    const sessionId = data?.['sessionId'];
    const callId = data?.['callId'];
    if (typeof sessionId !== 'string' || typeof callId !== 'string' || this.sessionsEnded.has(sessionId)) return;
    this.sessionsEnded.set(sessionId, data ?? {});
    const call = this.calls.get(callId);
    if (!call) return;
    call.ended = data;
    this.track(
      this.rpc('call.hangup', { callId }).then(
        (r) => void (call.hangup = r),
        (err: unknown) => void (call.hangupError = err instanceof Error ? err.message : String(err)),
      ),
    );
  }

  /** Waits for the RPCs in flight. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private stopped = false;

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.settle();
    await this.client.endAsync();
  }
}
