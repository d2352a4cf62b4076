/**
 * `tonewall config check [--config F]`: load and validate, print every problem (exit 1) or the
 * effective configuration with secrets hidden (exit 0).
 * `tonewall config defaults`: the embedded defaults as JSON.
 * `tonewall config env`: every TONEWALL_ environment variable with its key path.
 */
import { parseArgs } from 'node:util';
import { ConfigError, environmentVariables, loadConfig, parseConfig } from '../../config/load';
import { redactConfig } from '../../config/redact';

export function run(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
  });
  const sub = positionals[0] ?? 'check';
  if (values.help) {
    console.log('usage: tonewall config [check [--config F] | defaults | env]');
    return Promise.resolve(0);
  }
  if (sub === 'defaults') {
    console.log(JSON.stringify(parseConfig({}), null, 2));
    return Promise.resolve(0);
  }
  if (sub === 'env') {
    for (const v of environmentVariables()) console.log(`${v.name}\t${v.path.join('.')}`);
    return Promise.resolve(0);
  }
  if (sub !== 'check') {
    console.error(`tonewall config: unknown subcommand "${sub}" (expected check, defaults or env)`);
    return Promise.resolve(2);
  }
  try {
    const { config, sources } = loadConfig({ file: values.config });
    console.log(`configuration valid (${sources.join(' + ')})`);
    console.log(JSON.stringify(redactConfig(config), null, 2));
    return Promise.resolve(0);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `tonewall config: ${(err as Error).message}`);
    return Promise.resolve(1);
  }
}
