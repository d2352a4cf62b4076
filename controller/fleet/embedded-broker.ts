/**
 * The in-process broker for the demo and for tests without mosquitto: aedes 1.2 on a net server.
 * aedes 1.2 speaks MQTT 3.1.1 only: connect to it with protocolVersion 4 (the returned
 * `protocolVersion` says so), which means no will delay, session expiry or message expiry.
 *
 * aedes 1.2 is an ES module; this file compiles to CommonJS, where TypeScript (module node16) keeps
 * `import()` as a real dynamic import, so it loads without a require of ESM.
 */
import { type AddressInfo, type Server, createServer } from 'node:net';
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';

export interface EmbeddedBroker {
  /** mqtt://host:port */
  url: string;
  host: string;
  port: number;
  protocolVersion: 4;
  stop(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  host: string;
  /** 0 = pick a free port. */
  port: number;
  log: Logger;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const log = options.log.child('broker');
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  broker.on('clientError', (client, err) => log.debug('client error', { clientId: client.id, err: errorMessage(err) }));
  const server: Server = createServer((socket) => broker.handle(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new TonewallError('EFLEET_BROKER_LISTEN', `embedded broker cannot listen on ${options.host}:${options.port}: ${errorMessage(err)}`)));
    server.listen(options.port, options.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `mqtt://${options.host}:${addr.port}`;
  log.info('embedded broker listening', { url });
  let stopped = false;
  return {
    url,
    host: options.host,
    port: addr.port,
    protocolVersion: 4,
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      log.info('embedded broker stopped', { url });
    },
  };
}
