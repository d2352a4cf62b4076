/**
 * The whole appliance as a child process (`dist/controller/app/cli.js run --config F`) for fleet
 * tests and benchmarks: simulated fxo4 card placing demo calls, the embedded demo contact center,
 * Debian mosquitto as the broker. `kill()` is a SIGKILL (a power cut); `stop()` a SIGTERM (clean).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigInput } from '../../controller/config/schema';

export const CLI_JS = join(__dirname, '..', '..', 'controller', 'app', 'cli.js');

export interface ApplianceConfigInput {
  deviceId: string;
  stateDir: string;
  brokerUrl: string;
  demoSipPort: number;
  rtpPortMin: number;
  callIntervalMs: number;
  callDurationMs: number;
  /** Simulated callers: demo calls (default) or none. */
  script?: 'demo' | 'none';
  /** The fleet's Ed25519 public key (PEM file): signed commands and signed configuration. */
  fleetPublicKeyFile?: string;
}

/** Writes the config file for `tonewall run` and returns its path. */
export function writeApplianceConfig(dir: string, o: ApplianceConfigInput): string {
  const config: ConfigInput = {
    device: { id: o.deviceId, stateDir: o.stateDir },
    log: { level: 'warn', format: 'json' },
    card: { sim: { enabled: true, transport: 'auto', script: o.script ?? 'demo', callIntervalMs: o.callIntervalMs, callDurationMs: o.callDurationMs } },
    sip: { bindPort: 0, rtpPortMin: o.rtpPortMin, rtpPortMax: o.rtpPortMin + 199, contactCenterUri: `sip:{called}@127.0.0.1:${o.demoSipPort}`, demoEndpoint: { enabled: true, bindPort: o.demoSipPort } },
    mqtt: { url: o.brokerUrl, embeddedBroker: { enabled: false }, reconnectMinMs: 100, reconnectMaxMs: 1000, willDelayS: 1, sessionExpiryS: 60, ...(o.fleetPublicKeyFile !== undefined ? { fleetPublicKeyFile: o.fleetPublicKeyFile } : {}) },
  };
  const path = join(dir, `${o.deviceId}.json`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

export interface ApplianceChild {
  readonly child: ChildProcess;
  /** What the appliance wrote to stderr (its log). */
  log(): string;
  kill(): Promise<void>;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export function spawnAppliance(configPath: string): ApplianceChild {
  const child = spawn(process.execPath, [CLI_JS, 'run', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    child,
    log: () => stderr,
    kill: async () => {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (alive()) child.kill('SIGTERM');
      return exited;
    },
  };
}
