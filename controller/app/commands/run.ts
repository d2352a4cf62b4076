/**
 * `tonewall run [--config F] [--mqtt-url URL] [--log-level L]`: the appliance daemon. Runs until
 * SIGINT/SIGTERM, then stops cleanly (calls hung up, `offline` published, database closed).
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../../config/load';
import { Appliance } from '../appliance';
import { rootLogger, waitForSignal } from '../runtime';

export const RUN_OPTIONS = {
  config: { type: 'string', short: 'c' },
  'mqtt-url': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** CLI flags as config overrides: `--mqtt-url` points at an external broker (the embedded one is then off). */
export function flagOverrides(values: { 'mqtt-url'?: string; 'log-level'?: string }): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (values['mqtt-url']) o['mqtt'] = { url: values['mqtt-url'], embeddedBroker: { enabled: false } };
  if (values['log-level']) o['log'] = { level: values['log-level'] };
  return o;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: RUN_OPTIONS });
  if (values.help) {
    console.log('usage: tonewall run [--config FILE] [--mqtt-url URL] [--log-level trace|debug|info|warn|error]');
    return 0;
  }
  let config;
  try {
    config = loadConfig({ file: values.config, overrides: flagOverrides(values) }).config;
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `tonewall run: ${(err as Error).message}`);
    return 1;
  }
  const log = rootLogger(config);
  const app = new Appliance({ config, log });
  try {
    await app.start();
  } catch {
    return 1;
  }
  const sig = await waitForSignal();
  log.info('stopping', { signal: sig });
  await app.stop(sig === 'SIGTERM' ? 'shutdown' : 'interrupted');
  return 0;
}
