/**
 * `tonewall fleet …`: the operator's side of the MQTT API (DESIGN.md §6; docs/mqtt/fleet-cli.md).
 *
 *   fleet list                                  appliances: state (late-will rule), version, last seen
 *   fleet watch [--device D] [--topic events/#] live, one JSON line per message
 *   fleet call <device> <method> [--params JSON] [--sign-key PEM] [--expiry-s N] [--timeout-s N]
 *   fleet config push <device> --file F [--sign-key PEM] [--timeout-s N]
 *   fleet ota push <device> --file JOB [--sign-key PEM] [--timeout-s N]   follows ota/state to the end
 *   fleet ota cancel <device>                                              withdraws the retained job
 *
 * Common options: --url, --cafile, --cert, --key, --username (password from TONEWALL_FLEET_PASSWORD),
 * --root (default tonewall/v1), --actor. Exit codes: 0 ok; 1 error reply / rejected config /
 * connection failure; 2 usage error or timeout.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { errorCode, errorMessage } from '../../../hw/base/errors';
import { callRpc } from '../../fleet/rpc/rpc-client';
import { topicLevel } from '../../fleet/topics';
import { connectFleet } from '../../fleet-client/connect';
import { formatFleetTable, listFleet } from '../../fleet-client/fleet-list';
import { pushConfig } from '../../fleet-client/config-push';
import { cancelOtaJob, pushOtaJob } from '../../fleet-client/ota-push';
import { watchFleet } from '../../fleet-client/watch';

const OPTIONS = {
  url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
  cafile: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  username: { type: 'string' },
  'client-id': { type: 'string' },
  root: { type: 'string', default: 'tonewall/v1' },
  actor: { type: 'string' },
  device: { type: 'string' },
  topic: { type: 'string' },
  params: { type: 'string' },
  'sign-key': { type: 'string' },
  'expiry-s': { type: 'string' },
  'timeout-s': { type: 'string' },
  file: { type: 'string' },
  version: { type: 'string' },
  json: { type: 'boolean' },
  count: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const USAGE = `usage: tonewall fleet <list|watch|call|config push|ota push|ota cancel> [options]
  fleet list [--json]
  fleet watch [--device D] [--topic events/#] [--count N]
  fleet call <device> <method> [--params JSON] [--sign-key PEM] [--expiry-s N] [--timeout-s N]
  fleet config push <device> --file F [--version N] [--sign-key PEM] [--timeout-s N]
  fleet ota push <device> --file JOB.json [--sign-key PEM] [--timeout-s N]  (prints each ota/state)
  fleet ota cancel <device>
options: --url URL --cafile F --cert F --key F --username U (password: TONEWALL_FLEET_PASSWORD)
         --client-id ID --root tonewall/v1 --actor NAME
exit: 0 ok, 1 error reply / rejected / connection failed, 2 usage error / timeout`;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} "${text}" is not a positive number`);
  return n;
}

function jsonObject(what: string, text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not JSON: ${errorMessage(err)}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (err) {
    console.error(`tonewall fleet: ${errorMessage(err)}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    (values.help ? console.log : console.error)(USAGE);
    return values.help ? 0 : 2;
  }
  let client: MqttClient | undefined;
  try {
    const sub = positionals[0];
    const action = dispatch(sub, positionals.slice(1), values);
    client = await connectFleet({
      url: values.url,
      caFile: values.cafile,
      certFile: values.cert,
      keyFile: values.key,
      username: values.username,
      password: process.env['TONEWALL_FLEET_PASSWORD'],
      clientId: values['client-id'],
    });
    return await action(client);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tonewall fleet: ${err.message}\n${USAGE}`);
      return 2;
    }
    console.error(`tonewall fleet: ${errorMessage(err)}`);
    return errorCode(err) === 'EFLEET_RPC_TIMEOUT' || errorCode(err) === 'EFLEET_TIMEOUT' ? 2 : 1;
  } finally {
    await client?.endAsync().catch(() => undefined);
  }
}

type Action = (client: MqttClient) => Promise<number>;

/** Checks the arguments before connecting; returns what to do once connected. */
function dispatch(sub: string | undefined, args: string[], values: Values): Action {
  const timeoutMs = positiveNumber('timeout-s', values['timeout-s'], 10) * 1000;
  switch (sub) {
    case 'list':
      return async (client) => {
        const rows = await listFleet(client, values.root, timeoutMs);
        console.log(values.json ? JSON.stringify(rows) : formatFleetTable(rows));
        return 0;
      };
    case 'watch':
      return watchAction(values);
    case 'call':
      return callAction(args, values, timeoutMs);
    case 'config':
      return configAction(args, values, timeoutMs);
    case 'ota':
      return otaAction(args, values, timeoutMs);
    default:
      throw new UsageError(`unknown fleet command "${sub ?? ''}"`);
  }
}

function watchAction(values: Values): Action {
  const count = values.count === undefined ? undefined : positiveNumber('count', values.count, 1);
  return async (client) => {
    let printed = 0;
    let stop: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (stop = resolve));
    await watchFleet(client, { root: values.root, ...(values.device !== undefined ? { device: values.device } : {}), ...(values.topic !== undefined ? { topic: values.topic } : {}) }, (line) => {
      if (count !== undefined && printed >= count) return;
      console.log(JSON.stringify(line));
      if (count !== undefined && ++printed >= count) stop();
    });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await finished;
    return 0;
  };
}

function callAction(args: string[], values: Values, timeoutMs: number): Action {
  const [device, method] = args;
  if (device === undefined || method === undefined) throw new UsageError('fleet call needs <device> <method>');
  topicLevel('device id', device);
  const params = values.params === undefined ? undefined : jsonObject('--params', values.params);
  const expiryS = values['expiry-s'] === undefined ? undefined : positiveNumber('expiry-s', values['expiry-s'], 30);
  const signKey = values['sign-key'] === undefined ? undefined : readFileSync(values['sign-key'], 'utf8');
  return async (client) => {
    const reply = await callRpc(client, {
      root: values.root,
      dev: device,
      method,
      requester: topicLevel('client id', values['client-id'] ?? client.options.clientId ?? 'fleet-cli'),
      timeoutMs,
      ...(params !== undefined ? { params } : {}),
      ...(expiryS !== undefined ? { exp: Date.now() + expiryS * 1000 } : {}),
      ...(values.actor !== undefined ? { actor: values.actor } : {}),
      ...(signKey !== undefined ? { sign: signKey } : {}),
    });
    console.log(JSON.stringify(reply));
    return reply.status === 'error' ? 1 : 0;
  };
}

function configAction(args: string[], values: Values, timeoutMs: number): Action {
  const [verb, device] = args;
  if (verb !== 'push' || device === undefined) throw new UsageError('expected: fleet config push <device> --file F');
  if (values.file === undefined) throw new UsageError('fleet config push needs --file F (the desired configuration, JSON)');
  topicLevel('device id', device);
  const config = jsonObject(`--file ${values.file}`, readFileSync(values.file, 'utf8'));
  const version = values.version === undefined ? undefined : positiveNumber('version', values.version, 1);
  const sign = values['sign-key'] === undefined ? undefined : readFileSync(values['sign-key'], 'utf8');
  return async (client) => {
    const r = await pushConfig(client, { root: values.root, dev: device, config, timeoutMs, ...(version !== undefined ? { version } : {}), ...(values.actor !== undefined ? { actor: values.actor } : {}), ...(sign !== undefined ? { sign } : {}) });
    console.log(JSON.stringify(r.reported));
    return (r.reported['state'] ?? r.reported['status']) === 'rejected' ? 1 : 0;
  };
}

function otaAction(args: string[], values: Values, timeoutMs: number): Action {
  const [verb, device] = args;
  if ((verb !== 'push' && verb !== 'cancel') || device === undefined) throw new UsageError('expected: fleet ota push <device> --file JOB | fleet ota cancel <device>');
  topicLevel('device id', device);
  if (verb === 'cancel') {
    return async (client) => {
      await cancelOtaJob(client, values.root, device);
      console.log(JSON.stringify({ device, canceled: true }));
      return 0;
    };
  }
  if (values.file === undefined) throw new UsageError('fleet ota push needs --file JOB (the update job, JSON; see docs/mqtt/ota.md)');
  const job = jsonObject(`--file ${values.file}`, readFileSync(values.file, 'utf8'));
  const sign = values['sign-key'] === undefined ? undefined : readFileSync(values['sign-key'], 'utf8');
  return async (client) => {
    const last = await pushOtaJob(client, { root: values.root, dev: device, job, timeoutMs, onState: (s) => console.log(JSON.stringify(s)), ...(sign !== undefined ? { sign } : {}), ...(values.actor !== undefined ? { actor: values.actor } : {}) });
    return last['state'] === 'succeeded' ? 0 : 1;
  };
}
