/**
 * Presence of appliances as a consumer sees it (docs/mqtt/topics.md "Rules for consumers", rule 1;
 * DESIGN.md §6: `conn` counts CONNECTs, persisted, so a late last will can be told apart).
 *
 * Contract (pure; fed every `status`, `info` and `health` message of a device, in arrival order):
 * - `conn` seen: the highest envelope `conn` in any of the device's messages. `info` and `health`
 *   count too: `info` is the birth record published right after `status` online on every connect,
 *   so a consumer that joins late and finds a retained `offline` from an older connection (a late
 *   will overwrote the retained `status`) still knows a newer connection exists.
 * - A `status` whose `conn` is lower than the highest seen is ignored (counted in `ignoredStale`).
 *   Within one `conn` the later `status` wins.
 * - The shown state: the state of the last `status` not ignored; `online` when only a newer
 *   connection's `info`/`health` is known beyond an older `offline` (its birth was seen);
 *   `unknown` before any `status`.
 * - `lastSeenMs`: the latest envelope `ts` of any message (ms since epoch).
 */

export type PresenceState = 'online' | 'offline' | 'unknown';

/** The envelope fields presence needs (DESIGN.md §6). Anything else in the payload is ignored. */
export interface PresenceInput {
  kind: 'status' | 'info' | 'health';
  conn: number;
  ts: number;
  /** For `status`: `online` | `offline`. */
  state?: string;
  /** For `status`: startup | reconnect | shutdown | restart | lwt. */
  reason?: string;
  /** For `status`: firmware version. */
  fw?: string;
  /** For `info`: the software version (`sw.tonewall`). */
  version?: string;
}

export interface DevicePresence {
  dev: string;
  state: PresenceState;
  /** Reason of the `status` that decided the state (`lwt` for a will). */
  reason: string | undefined;
  /** `conn` of the `status` that decided the state. */
  statusConn: number;
  /** Highest `conn` seen in any message of the device. */
  maxConn: number;
  version: string | undefined;
  lastSeenMs: number;
  /** `status` messages ignored because their `conn` was lower than the highest seen. */
  ignoredStale: number;
}

export class PresenceTracker {
  private readonly devices = new Map<string, DevicePresence>();

  /** Applies one message; returns the device's presence after it. */
  observe(dev: string, msg: PresenceInput): DevicePresence {
    const d = this.devices.get(dev) ?? { dev, state: 'unknown', reason: undefined, statusConn: 0, maxConn: 0, version: undefined, lastSeenMs: 0, ignoredStale: 0 };
    this.devices.set(dev, d);
    if (Number.isFinite(msg.ts)) d.lastSeenMs = Math.max(d.lastSeenMs, msg.ts);
    if (msg.kind === 'info' && msg.version !== undefined && msg.conn >= d.maxConn) d.version = msg.version;
    if (msg.kind === 'status') {
      if (msg.conn < d.maxConn) {
        d.ignoredStale++;
      } else {
        d.state = msg.state === 'online' ? 'online' : 'offline';
        d.reason = msg.reason;
        d.statusConn = msg.conn;
        if (msg.fw !== undefined && d.version === undefined) d.version = msg.fw;
      }
    }
    if (msg.conn > d.maxConn) {
      d.maxConn = msg.conn;
      // A birth (info/health) of a newer connection than the shown offline: that connection is up.
      if (msg.kind !== 'status' && d.state !== 'online' && d.statusConn < msg.conn) {
        d.state = 'online';
        d.reason = 'birth';
        d.statusConn = msg.conn;
      }
    }
    return { ...d };
  }

  get(dev: string): DevicePresence | undefined {
    const d = this.devices.get(dev);
    return d ? { ...d } : undefined;
  }

  /** Every device seen, sorted by id. */
  all(): DevicePresence[] {
    return [...this.devices.values()].map((d) => ({ ...d })).sort((a, b) => (a.dev < b.dev ? -1 : a.dev > b.dev ? 1 : 0));
  }
}

/**
 * Reads the presence fields out of a device payload (`status`, `info`, `health`); undefined when
 * the payload is not an enveloped JSON object (an empty retained clear, a foreign message).
 */
export function presenceInput(kind: PresenceInput['kind'], payload: Buffer | string): PresenceInput | undefined {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  if (text === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  const conn = o['conn'];
  const ts = o['ts'];
  if (typeof conn !== 'number' || !Number.isInteger(conn) || conn < 0) return undefined;
  const out: PresenceInput = { kind, conn, ts: typeof ts === 'number' ? ts : 0 };
  if (typeof o['state'] === 'string') out.state = o['state'];
  if (typeof o['reason'] === 'string') out.reason = o['reason'];
  if (typeof o['fw'] === 'string') out.fw = o['fw'];
  const sw = o['sw'];
  if (kind === 'info' && typeof sw === 'object' && sw !== null && typeof (sw as Record<string, unknown>)['tonewall'] === 'string') {
    out.version = (sw as Record<string, string>)['tonewall'];
  }
  return out;
}
