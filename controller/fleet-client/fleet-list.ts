/**
 * `tonewall fleet list`: the appliances under a topic root, from their retained `status`, `info`
 * and `health`, with presence decided by the consumers' rule (presence.ts).
 */
import type { MqttClient } from 'mqtt';
import { type DevicePresence, PresenceTracker, type PresenceInput, presenceInput } from './presence';
import { readRetained } from './retained';

export interface FleetRow {
  dev: string;
  state: DevicePresence['state'];
  reason: string | undefined;
  conn: number;
  version: string | undefined;
  /** ISO 8601 UTC of the latest envelope `ts` seen. */
  lastSeen: string | undefined;
  /** `health.overall` when the device publishes health. */
  health: string | undefined;
  /** Retained `status` messages ignored as stale (late wills). */
  ignoredStale: number;
}

const KINDS = ['status', 'info', 'health'] as const;

/** Splits `${root}/{dev}/{kind}`; undefined for anything else. */
export function deviceTopic(root: string, topic: string): { dev: string; rest: string } | undefined {
  if (!topic.startsWith(`${root}/`)) return undefined;
  const tail = topic.slice(root.length + 1);
  const slash = tail.indexOf('/');
  if (slash <= 0) return undefined;
  const dev = tail.slice(0, slash);
  if (dev.startsWith('_')) return undefined;
  return { dev, rest: tail.slice(slash + 1) };
}

export async function listFleet(client: MqttClient, root: string, timeoutMs = 10_000): Promise<FleetRow[]> {
  const msgs = await readRetained(client, root, KINDS.map((k) => `${root}/+/${k}`), timeoutMs);
  const tracker = new PresenceTracker();
  const health = new Map<string, string>();
  for (const m of msgs) {
    const dt = deviceTopic(root, m.topic);
    if (!dt || !(KINDS as readonly string[]).includes(dt.rest)) continue;
    const kind = dt.rest as PresenceInput['kind'];
    const input = presenceInput(kind, m.payload);
    if (!input) continue;
    tracker.observe(dt.dev, input);
    if (kind === 'health') {
      const overall = healthOverall(m.payload);
      if (overall !== undefined) health.set(dt.dev, overall);
    }
  }
  return tracker.all().map((p) => ({
    dev: p.dev,
    state: p.state,
    reason: p.reason,
    conn: p.maxConn,
    version: p.version,
    lastSeen: p.lastSeenMs > 0 ? new Date(p.lastSeenMs).toISOString() : undefined,
    health: health.get(p.dev),
    ignoredStale: p.ignoredStale,
  }));
}

function healthOverall(payload: Buffer): string | undefined {
  try {
    const o = JSON.parse(payload.toString('utf8')) as { overall?: unknown };
    return typeof o.overall === 'string' ? o.overall : undefined;
  } catch {
    return undefined;
  }
}

/** The table `fleet list` prints (one line per appliance). */
export function formatFleetTable(rows: FleetRow[]): string {
  const head = ['DEVICE', 'STATE', 'REASON', 'CONN', 'VERSION', 'HEALTH', 'LAST SEEN'];
  const body = rows.map((r) => [r.dev, r.state, r.reason ?? '-', String(r.conn), r.version ?? '-', r.health ?? '-', r.lastSeen ?? '-']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  return [head, ...body].map((cols) => cols.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}
