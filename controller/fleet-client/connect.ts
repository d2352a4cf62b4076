/**
 * The fleet side's MQTT 5 connection (the `tonewall fleet` CLI and tests): one client with TLS
 * client certificates when given, a unique client id, no automatic reconnect (a CLI run is short:
 * a lost broker is an error, not a wait), the message handler attached by the caller before
 * CONNECT (`onClient`).
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { TonewallError, errorMessage } from '../../hw/base/errors';

export interface FleetConnectOptions {
  url: string;
  /** CA certificate file (PEM) that signed the broker's certificate. */
  caFile?: string;
  /** Client certificate and key (PEM) for brokers with `require_certificate true`. */
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  /** Default `tw-fleet-<8 random hex>`. */
  clientId?: string;
  /** Bound on CONNECT → CONNACK (ms, default 10000). */
  connectTimeoutMs?: number;
  /** Called with the client before CONNECT is sent: attach `message` handlers here. */
  onClient?: (client: MqttClient) => void;
  /** MQTT.js factory (tests). */
  connect?: (url: string, opts: IClientOptions) => MqttClient;
}

function readPem(what: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TonewallError('EFLEET_TLS_FILE', `cannot read ${what} "${path}": ${errorMessage(err)}`);
  }
}

/** The MQTT.js options for a fleet-side client (pure apart from reading the PEM files). */
export function fleetClientOptions(o: FleetConnectOptions): IClientOptions {
  const opts: IClientOptions = {
    protocolVersion: 5,
    clientId: o.clientId ?? `tw-fleet-${randomBytes(4).toString('hex')}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    manualConnect: true,
  };
  if (o.username !== undefined) opts.username = o.username;
  if (o.password !== undefined) opts.password = o.password;
  const ca = readPem('CA file', o.caFile);
  const cert = readPem('certificate file', o.certFile);
  const key = readPem('key file', o.keyFile);
  if (ca) opts.ca = ca;
  if (cert) opts.cert = cert;
  if (key) opts.key = key;
  if ((cert === undefined) !== (key === undefined)) {
    throw new TonewallError('EFLEET_TLS_FILE', `a client certificate needs both --cert and --key (got ${cert ? '--cert' : '--key'} only)`);
  }
  return opts;
}

/** Connects; resolves on CONNACK, rejects with EFLEET_CONNECT naming the url and the broker's reason. */
export function connectFleet(o: FleetConnectOptions): Promise<MqttClient> {
  const opts = fleetClientOptions(o);
  const client = (o.connect ?? ((url, co) => mqtt.connect(url, co)))(o.url, opts);
  o.onClient?.(client);
  return new Promise((resolve, reject) => {
    let lastError = '';
    const onConnect = (): void => {
      cleanup();
      resolve(client);
    };
    const onError = (err: Error): void => {
      lastError = errorMessage(err);
    };
    const onClose = (): void => {
      cleanup();
      client.end(true);
      reject(new TonewallError('EFLEET_CONNECT', `cannot connect to ${o.url}: ${lastError || 'connection closed by the broker'}`));
    };
    const cleanup = (): void => {
      client.removeListener('connect', onConnect);
      client.removeListener('close', onClose);
    };
    client.on('error', onError);
    client.once('connect', onConnect);
    client.on('close', onClose);
    client.connect();
  });
}
