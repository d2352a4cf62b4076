/**
 * The device's inbound subscriptions (`rpc/req/+`, `config/desired`, `_fleet/rebirth`): each route
 * is subscribed QoS 1 on every CONNACK (also when the session was resumed: a session from before
 * the route existed has no subscription for it) and when added while connected. Messages are
 * matched by topic and handed to the route; a filter the broker refuses (SUBACK ≥ 0x80, e.g. by
 * ACL) is logged, never retried in a loop.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import { errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';

export interface InboundRoute {
  /** The absolute topic filter subscribed. */
  filter: string;
  matches: (topic: string) => boolean;
  deliver: (topic: string, payload: Buffer, packet: IPublishPacket) => void;
  onSubscribed?: () => void;
}

export class InboundRoutes {
  private readonly routes: InboundRoute[] = [];

  constructor(
    private readonly log: Logger,
    /** Called for every granted subscription. */
    private readonly onGranted: (filter: string) => void,
  ) {}

  /** Adds a route; subscribes it now when `client` (the live session) is given. */
  add(route: InboundRoute, client: MqttClient | undefined): void {
    this.routes.push(route);
    if (client) this.subscribe(client, route);
  }

  subscribeAll(client: MqttClient): void {
    for (const r of this.routes) this.subscribe(client, r);
  }

  deliver(topic: string, payload: Buffer, packet: IPublishPacket): void {
    for (const r of this.routes) if (r.matches(topic)) r.deliver(topic, payload, packet);
  }

  private subscribe(client: MqttClient, route: InboundRoute): void {
    const filter = route.filter;
    client.subscribe(filter, { qos: 1 }, (err, granted) => {
      const code = granted?.[0]?.qos;
      if (err) this.log.warn('subscription failed', { filter, err: errorMessage(err) });
      else if (code !== 0 && code !== 1) this.log.warn('subscription refused by the broker', { filter, code });
      else {
        route.onSubscribed?.();
        this.onGranted(filter);
      }
    });
  }
}
