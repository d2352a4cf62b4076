/**
 * `collect_diagnostics` (DESIGN.md §6): what an operator needs to look at a device from afar,
 * returned inline in the command reply: versions, the configuration with secrets redacted (the
 * caller redacts: controller/config/redact.ts), health, store figures and the last log lines.
 *
 * Size cap: the JSON stays under `maxBytes` (default 48 KiB, well inside a broker's message limit);
 * log lines go first (oldest first), then the configuration, and `truncated` says what was cut.
 * A log line with a card-like digit run is dropped whole (counted in `logLinesWithheld`): the
 * reply passes the publish guard, which would otherwise refuse all of it.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { findCardLikeRun } from '../../hw/base/card-guard';
import type { Store } from '../store/store';
import type { JsonObject } from '../store/json';
import type { HealthBody, InfoBody } from './topics';

export interface DiagnosticsInput {
  /** The configuration, secrets already replaced. */
  redactedConfig: unknown;
  /** The JSON-lines log file (log.file, absolute), if any. */
  logFile: string | undefined;
  store: Pick<Store, 'stats'>;
  health: HealthBody | undefined;
  info: InfoBody;
  logLines: number;
  maxBytes?: number;
}

/** Reads at most the last `maxBytes` of `path` and returns its last `n` complete lines. */
export function tailLines(path: string, n: number, maxBytes = 1 << 20): string[] {
  if (n <= 0) return [];
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n').filter((l) => l.length > 0);
    if (len < size) lines.shift(); // the first line may be cut
    return lines.slice(-n);
  } finally {
    closeSync(fd);
  }
}

export function collectDiagnostics(d: DiagnosticsInput): JsonObject {
  const maxBytes = d.maxBytes ?? 48 * 1024;
  let lines: string[] = [];
  let logError: string | undefined;
  if (d.logFile) {
    try {
      lines = tailLines(d.logFile, d.logLines);
    } catch (err) {
      logError = `log file not readable: ${(err as NodeJS.ErrnoException).code ?? 'error'}`;
    }
  }
  const kept = lines.filter((l) => findCardLikeRun(l) === undefined);
  const out = {
    collectedAt: new Date().toISOString(),
    versions: { ...(d.info.sw ?? {}), platform: process.platform, arch: process.arch },
    hw: d.info.hw ?? {},
    health: d.health ?? null,
    store: d.store.stats(),
    config: d.redactedConfig ?? null,
    log: { file: d.logFile ?? null, lines: kept, logLinesWithheld: lines.length - kept.length, ...(logError ? { error: logError } : {}) },
    truncated: [] as string[],
  };
  const size = (): number => Buffer.byteLength(JSON.stringify(out));
  if (size() > maxBytes) {
    const before = out.log.lines.length;
    while (out.log.lines.length > 0 && size() > maxBytes) out.log.lines.splice(0, Math.max(1, Math.ceil(out.log.lines.length / 8)));
    out.truncated.push(`log: ${before - out.log.lines.length} oldest lines`);
  }
  if (size() > maxBytes) {
    out.config = null;
    out.truncated.push('config');
  }
  return JSON.parse(JSON.stringify(out)) as JsonObject;
}
