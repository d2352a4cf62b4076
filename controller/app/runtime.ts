/** Process-level helpers shared by the long-running commands: the root logger and signal handling. */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { createLogger, jsonSink, prettySink, type LogSink, type RootLogger } from '../../hw/base/logger';
import type { Config } from '../config/schema';

/** The root logger for a config: pretty on a terminal (format auto), JSON lines otherwise, plus an optional file. */
export function rootLogger(config: Pick<Config, 'log' | 'device'>, stream: NodeJS.WriteStream = process.stderr): RootLogger {
  const pretty = config.log.format === 'pretty' || (config.log.format === 'auto' && stream.isTTY === true);
  const sinks: LogSink[] = [pretty ? prettySink(stream) : jsonSink(stream)];
  if (config.log.file) {
    const file = isAbsolute(config.log.file) ? config.log.file : join(config.device.stateDir, config.log.file);
    mkdirSync(dirname(file), { recursive: true });
    sinks.push(jsonSink(createWriteStream(file, { flags: 'a', mode: 0o600 })));
  }
  return createLogger({ level: config.log.level, sinks });
}

/** Resolves with the signal's name on the first SIGINT or SIGTERM. */
export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
