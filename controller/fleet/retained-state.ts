/**
 * The one mechanism behind the device's retained state (DESIGN.md §6): calls, pay, alarms, health,
 * spans, ports, sip and config/reported. Each topic's last body (and message expiry) is kept in
 * memory: sent at once when connected, republished on every connect and on rebirth. A clear (empty
 * retained payload) made while offline, or not yet acknowledged, is sent on the next connect.
 */
import type { MqttClient } from 'mqtt';
import { errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { DeviceTopics } from './topics';

/** Topics whose state is retained and republished on every connect and on rebirth. */
export type RetainedTopic = `calls/${string}` | `pay/${string}` | `alarms/${string}` | `spans/${string}` | `ports/${string}` | `sip/${string}` | 'health' | 'config/reported' | 'ota/state';

export interface RetainedEntry {
  body: DeviceTopics[RetainedTopic];
  expiryS: number | undefined;
}

export interface RetainedSender {
  publish(client: MqttClient, rel: RetainedTopic, body: DeviceTopics[RetainedTopic], expiryS: number | undefined): Promise<void>;
  publishEmpty(client: MqttClient, rel: RetainedTopic): Promise<void>;
}

export class RetainedState {
  private readonly entries = new Map<RetainedTopic, RetainedEntry>();
  private readonly pendingClears = new Set<RetainedTopic>();

  constructor(
    private readonly sender: RetainedSender,
    private readonly log: Logger,
  ) {}

  /** Sets (or with null clears) `rel`; sends now when `client` (the live session) is given. */
  set<T extends RetainedTopic>(rel: T, body: DeviceTopics[T] | null, expiryS: number | undefined, client: MqttClient | undefined): void {
    if (body === null) {
      this.entries.delete(rel);
      this.pendingClears.add(rel);
    } else {
      this.entries.set(rel, { body, expiryS });
      this.pendingClears.delete(rel);
    }
    if (client) this.send(client, rel, body, expiryS);
  }

  get(rel: RetainedTopic): RetainedEntry | undefined {
    return this.entries.get(rel);
  }

  /** A snapshot of the live entries (safe to iterate while state changes). */
  list(): [RetainedTopic, RetainedEntry][] {
    return [...this.entries];
  }

  /** On CONNACK: pending clears first, then every live entry. */
  onConnected(client: MqttClient): void {
    for (const rel of this.pendingClears) this.send(client, rel, null, undefined);
    for (const [rel, r] of this.entries) this.send(client, rel, r.body, r.expiryS);
  }

  private send(client: MqttClient, rel: RetainedTopic, body: DeviceTopics[RetainedTopic] | null, expiryS: number | undefined): void {
    const p = body === null ? this.sender.publishEmpty(client, rel) : this.sender.publish(client, rel, body, expiryS);
    p.then(
      () => {
        if (body === null && !this.entries.has(rel)) this.pendingClears.delete(rel);
      },
      (err: unknown) => this.log.warn('publishing retained state failed', { topic: rel, err: errorMessage(err) }),
    );
  }
}

/** What a message on the device's own `status` is to the late-will self-heal (see ownStatusKind). */
export type OwnStatusKind = { kind: 'online-echo' } | { kind: 'stale-offline'; conn: number };

/**
 * The late-will self-heal decision (docs/mqtt/topics.md "Late-will self-heal"). The device follows
 * its own `status`. Messages reach a subscriber in the order the broker handled them, so:
 * - `online-echo`: this connection's own `online` coming back (live, `conn` = the current one);
 *   from here on the retained status is this `online`;
 * - `stale-offline`: a live `offline` whose `conn` is lower than the current one. Only after the
 *   echo does it mean the broker stored it over the new `online` (a late will); before the echo it
 *   was stored earlier (e.g. the old will queued in a resumed session) and the `online` replaces it.
 * Anything else (retained-on-subscribe, other states or conns, garbage): undefined.
 */
export function ownStatusKind(payload: Buffer, retained: boolean, currentConn: number): OwnStatusKind | undefined {
  if (retained || payload.length === 0 || payload.length > 4096) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { state, conn } = body as { state?: unknown; conn?: unknown };
  if (typeof conn !== 'number' || !Number.isInteger(conn)) return undefined;
  if (state === 'online' && conn === currentConn) return { kind: 'online-echo' };
  if (state === 'offline' && conn < currentConn) return { kind: 'stale-offline', conn };
  return undefined;
}
