#!/usr/bin/env node
/**
 * The `tonewall` command line. Each subcommand lives in commands/ and returns an exit code.
 *
 *   tonewall run     the appliance daemon (what systemd starts)
 *   tonewall demo    the appliance on its embedded defaults with a scripted caller (npm start)
 *   tonewall sim     the simulated telephony card, standalone (pty or socket)
 *   tonewall mask    mask DTMF in recordings through the live uplink pipeline
 *   tonewall detect  list the DTMF digits in recordings
 *   tonewall test-processor  the local test payment processor (demo and tests)
 *   tonewall config  check a configuration, or list defaults and environment variables
 *   tonewall fleet   the fleet operator's side of MQTT: list, watch, call, config push
 *   tonewall version
 */
import { errorMessage } from '../../hw/base/errors';

type CommandRunner = (argv: string[]) => Promise<number>;
type CommandModule = { run: CommandRunner };

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandRunner> }> = {
  run: { summary: 'run the appliance daemon', load: async () => ((await import('./commands/run.js')) as CommandModule).run },
  demo: { summary: 'run the appliance on embedded defaults with a scripted caller', load: async () => ((await import('./commands/demo.js')) as CommandModule).run },
  sim: { summary: 'run the simulated telephony card standalone', load: async () => ((await import('./commands/sim.js')) as CommandModule).run },
  mask: { summary: 'mask DTMF in WAV recordings (IN OUT) exactly as the live uplink does', load: async () => ((await import('./commands/mask.js')) as CommandModule).run },
  detect: { summary: 'print the DTMF digits detected in WAV recordings', load: async () => ((await import('./commands/detect.js')) as CommandModule).run },
  'test-processor': { summary: 'run the local test payment processor (HTTPS, mutual TLS, JWE)', load: async () => ((await import('./commands/test-processor.js')) as CommandModule).run },
  config: { summary: 'check a configuration file, or print defaults / environment variables', load: async () => ((await import('./commands/config.js')) as CommandModule).run },
  fleet: { summary: 'fleet side of MQTT: list appliances, watch, call a command, push config', load: async () => ((await import('./commands/fleet.js')) as CommandModule).run },
  version: { summary: 'print the software version', load: async () => ((await import('./commands/version.js')) as CommandModule).run },
};

function usage(): string {
  const lines = ['usage: tonewall <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(15)} ${c.summary}`);
  lines.push('', "run 'tonewall <command> --help' for a command's options");
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`tonewall: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const runner = await command.load();
  return runner(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`tonewall: ${errorMessage(err)}`);
      process.exitCode = 1;
    },
  );
}
