/**
 * One logger for the whole appliance, a child per module (`log.child('sip')`).
 *
 * Contract:
 * - A record is `{ time, level, module, msg, ...fields }`; sinks format it (JSON lines for files and
 *   journald, a short human line for a terminal).
 * - Nothing sensitive by construction: captured card digits have their own type that throws on
 *   serialisation, so putting one in `fields` fails loudly in tests. As the last line of defence
 *   (DESIGN.md §7) every record is scanned with `findCardLikeRun`; a record that matches is dropped,
 *   replaced by a notice that names only the module and the reason, and counted in `droppedRecords`
 *   (per logger tree) and in `cardGuardRefusals()` (per process).
 * - Hex dumps and other costly fields are lazy: pass a function and it is only called when the level
 *   is enabled.
 */
import { findCardLikeRun } from './card-guard';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

const LEVEL_RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 100 };

/** A field value, or a function returning it (evaluated only when the level is enabled). */
export type LogFields = Record<string, unknown>;

export interface LogRecord {
  time: string;
  level: Exclude<LogLevel, 'silent'>;
  module: string;
  msg: string;
  fields: Record<string, unknown>;
}

export interface LogSink {
  write(record: LogRecord, line: string): void;
}

/** The interface every part receives (hw/ included): it never needs the implementation. */
export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  fatal(msg: string, fields?: LogFields): void;
  child(module: string): Logger;
  isLevelEnabled(level: LogLevel): boolean;
}

export interface LogCounters {
  records: number;
  droppedRecords: number;
}

/**
 * Records refused by the card-number guard in this process, over every logger tree (each tree also
 * counts its own in `counters.droppedRecords`). A process-wide total because the guard is a
 * property of the process: the metrics reporter reads it without holding every tree.
 */
let guardRefusals = 0;

/** How many log records the last-line card-number guard has refused in this process so far. */
export function cardGuardRefusals(): number {
  return guardRefusals;
}

/** Shared state of one logger tree: level, sinks, counters. */
class LogRoot {
  level: LogLevel;
  readonly sinks: LogSink[];
  readonly counters: LogCounters = { records: 0, droppedRecords: 0 };

  constructor(level: LogLevel, sinks: LogSink[]) {
    this.level = level;
    this.sinks = sinks;
  }
}

function resolveFields(fields: LogFields | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!fields) return out;
  for (const [k, v] of Object.entries(fields)) {
    out[k] = typeof v === 'function' ? (v as () => unknown)() : v;
  }
  return out;
}

function serialiseFields(fields: Record<string, unknown>): string {
  return JSON.stringify(fields, (_k, v: unknown) => {
    if (v instanceof Error) return { name: v.name, message: v.message, code: (v as { code?: unknown }).code };
    if (typeof v === 'bigint') return v.toString();
    if (Buffer.isBuffer(v)) return `<${v.length} bytes>`;
    return v;
  });
}

class ModuleLogger implements Logger {
  constructor(
    protected readonly root: LogRoot,
    private readonly module: string,
  ) {}

  trace(msg: string, fields?: LogFields): void {
    this.log('trace', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }
  fatal(msg: string, fields?: LogFields): void {
    this.log('fatal', msg, fields);
  }

  child(module: string): Logger {
    return new ModuleLogger(this.root, this.module ? `${this.module}.${module}` : module);
  }

  isLevelEnabled(level: LogLevel): boolean {
    return LEVEL_RANK[level] >= LEVEL_RANK[this.root.level] && this.root.level !== 'silent';
  }

  private log(level: Exclude<LogLevel, 'silent'>, msg: string, fieldsIn?: LogFields): void {
    if (!this.isLevelEnabled(level)) return;
    const fields = resolveFields(fieldsIn);
    const fieldText = serialiseFields(fields);
    const time = new Date().toISOString();
    this.root.counters.records++;
    // The guard scans only what callers supplied (message and fields): the timestamp is ours.
    const hit = findCardLikeRun(msg) ?? findCardLikeRun(fieldText);
    let record: LogRecord;
    if (hit) {
      this.root.counters.droppedRecords++;
      guardRefusals++;
      record = {
        time,
        level: 'error',
        module: this.module,
        msg: 'log record dropped: it contained a card-like digit run',
        fields: { reason: hit.reason, digits: hit.digits, originalLevel: level },
      };
    } else {
      record = { time, level, module: this.module, msg, fields };
    }
    const head = JSON.stringify({ time: record.time, level: record.level, module: record.module, msg: record.msg });
    const body = hit ? serialiseFields(record.fields) : fieldText;
    const line = body === '{}' ? head : `${head.slice(0, -1)},${body.slice(1)}`;
    for (const sink of this.root.sinks) sink.write(record, line);
  }
}

export interface RootLogger extends Logger {
  setLevel(level: LogLevel): void;
  readonly level: LogLevel;
  readonly counters: Readonly<LogCounters>;
  addSink(sink: LogSink): void;
}

class RootModuleLogger extends ModuleLogger implements RootLogger {
  setLevel(level: LogLevel): void {
    this.root.level = level;
  }
  get level(): LogLevel {
    return this.root.level;
  }
  get counters(): Readonly<LogCounters> {
    return this.root.counters;
  }
  addSink(sink: LogSink): void {
    this.root.sinks.push(sink);
  }
}

export function createLogger(options: { level: LogLevel; sinks: LogSink[]; module?: string }): RootLogger {
  return new RootModuleLogger(new LogRoot(options.level, [...options.sinks]), options.module ?? '');
}

/** JSON lines to a writable stream (a file, or stdout under systemd where journald takes it). */
export function jsonSink(stream: { write(s: string): unknown }): LogSink {
  return { write: (_record, line) => void stream.write(line + '\n') };
}

/** A short human line for an interactive terminal: `12:00:01.234 INFO  sip  message  {fields}`. */
export function prettySink(stream: { write(s: string): unknown }): LogSink {
  return {
    write(record) {
      const t = record.time.slice(11, 23);
      const f = Object.keys(record.fields).length ? ' ' + serialiseFields(record.fields) : '';
      void stream.write(`${t} ${record.level.toUpperCase().padEnd(5)} ${record.module.padEnd(12)} ${record.msg}${f}\n`);
    },
  };
}

/** Keeps records in memory: for tests and for `collect_diagnostics`. */
export function memorySink(limit = 10_000): LogSink & { records: LogRecord[]; lines: string[] } {
  const records: LogRecord[] = [];
  const lines: string[] = [];
  return {
    records,
    lines,
    write(record, line) {
      records.push(record);
      lines.push(line);
      if (records.length > limit) {
        records.shift();
        lines.shift();
      }
    },
  };
}

/** A logger that discards everything (tests of parts that do not care about logs). */
export const nullLogger: Logger = createLogger({ level: 'silent', sinks: [] });
