/**
 * Loading configuration: file (JSON) → environment overrides → schema validation.
 *
 * - File: `--config F`, else the first that exists of DEFAULT_SEARCH_PATH; none at all means the
 *   embedded defaults.
 * - Environment: `TONEWALL_<PATH>` where PATH is the key path in upper snake case, e.g.
 *   `TONEWALL_MQTT_URL`, `TONEWALL_SIP_BIND_PORT`, `TONEWALL_CARD_SIM_ENABLED`. Values are coerced
 *   to the schema's type (numbers, booleans, JSON for arrays). An unknown TONEWALL_ variable is an
 *   error like an unknown key.
 * - Validation reports every problem at once, each naming the key path, the bad value and what was
 *   expected; an unknown key comes with a "did you mean" hint.
 */
import { readFileSync, existsSync } from 'node:fs';
import { z } from 'zod';
import { TonewallError } from '../../hw/base/errors';
import { configSchema, type Config } from './schema';

export const DEFAULT_SEARCH_PATH = ['./tonewall.json', '/etc/tonewall/config.json'];
export const ENV_PREFIX = 'TONEWALL_';

export class ConfigError extends TonewallError {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super('ECONFIG', `invalid configuration (${source}):\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

export interface LoadOptions {
  /** Explicit file (--config). It must exist. */
  file?: string;
  /** Environment to read overrides from (process.env by default). */
  env?: Record<string, string | undefined>;
  /** Files to try when no explicit file is given. */
  searchPath?: string[];
  /** Extra overrides applied last (CLI flags such as --mqtt-url), as a partial config object. */
  overrides?: Record<string, unknown>;
}

export interface LoadedConfig {
  config: Config;
  /** Where it came from, for the log: 'defaults', a file path, plus 'env' when variables applied. */
  sources: string[];
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Unwraps default/prefault/optional wrappers down to the schema that describes the value. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    const def = (s as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } } })._zod.def;
    if ((def.type === 'default' || def.type === 'prefault' || def.type === 'optional' || def.type === 'nullable') && def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else return s;
  }
}

function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const s = unwrap(schema);
  return s instanceof z.ZodObject ? s.shape : undefined;
}

/** The schema at a key path, or undefined. */
function schemaAt(path: readonly PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType = configSchema;
  for (const key of path) {
    const shape = shapeOf(s);
    if (!shape || typeof key !== 'string') return undefined;
    const next = shape[key];
    if (!next) return undefined;
    s = next;
  }
  return s;
}

function camelToSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Every leaf key path of the schema with its environment variable name. */
export function environmentVariables(): { name: string; path: string[]; schema: z.ZodType }[] {
  const out: { name: string; path: string[]; schema: z.ZodType }[] = [];
  const walk = (s: z.ZodType, path: string[]): void => {
    const shape = shapeOf(s);
    if (shape) {
      for (const [k, v] of Object.entries(shape)) walk(v, [...path, k]);
      return;
    }
    out.push({ name: ENV_PREFIX + path.map(camelToSnake).join('_'), path, schema: s });
  };
  walk(configSchema, []);
  return out;
}

function coerce(raw: string, schema: z.ZodType): unknown {
  const s = unwrap(schema);
  const type = (s as unknown as { _zod: { def: { type: string } } })._zod.def.type;
  if (type === 'number') return raw.trim() === '' ? raw : Number(raw);
  if (type === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    return raw;
  }
  if (type === 'array' || type === 'object' || type === 'union') {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return type === 'union' && /^-?\d+$/.test(raw) ? Number(raw) : raw;
    }
  }
  return raw;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let t = target;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    const next = t[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) t[key] = {};
    t = t[key] as Record<string, unknown>;
  }
  t[path[path.length - 1] as string] = value;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)) {
      out[k] = deepMerge(b as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 60) + '…' : s;
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = obj;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** Turns schema issues into one line each: `sip.bindPort: 70000 is not valid: expected …`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const where = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const shape = shapeOf(schemaAt(issue.path) ?? configSchema);
      const known = shape ? Object.keys(shape) : [];
      for (const key of issue.keys) {
        const hint = closest(key, known);
        const at = issue.path.length ? `${where}.${key}` : key;
        lines.push(`${at}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed here: ${known.join(', ')}`);
      }
      continue;
    }
    const value = valueAt(input, issue.path);
    if (value === undefined) lines.push(`${where}: ${/^(is|must) /.test(issue.message) ? issue.message : `missing: ${issue.message}`}`);
    else lines.push(`${where}: ${describeValue(value)} is not valid: ${issue.message}`);
  }
  return lines;
}

/** Validates a config object (already merged); throws ConfigError listing every problem. */
export function parseConfig(input: unknown, source = 'config'): Config {
  const r = configSchema.safeParse(input);
  if (!r.success) throw new ConfigError(source, formatIssues(r.error.issues, input));
  return r.data;
}

function readEnv(env: Record<string, string | undefined>, problems: string[]): Record<string, unknown> {
  const vars = environmentVariables();
  const byName = new Map(vars.map((v) => [v.name, v]));
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    if (name === 'TONEWALL_CONFIG') continue;
    const v = byName.get(name);
    if (!v) {
      const hint = closest(name, [...byName.keys()]);
      problems.push(`${name}: unknown environment variable${hint ? ` (did you mean ${hint}?)` : ''}`);
      continue;
    }
    setPath(out, v.path, coerce(raw, v.schema));
  }
  return out;
}

/** Loads, merges and validates. Throws ConfigError (every problem at once) or a file error. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const sources: string[] = [];
  let fileObj: Record<string, unknown> = {};
  const explicit = options.file ?? env['TONEWALL_CONFIG'];
  const file = explicit ?? (options.searchPath ?? DEFAULT_SEARCH_PATH).find((p) => existsSync(p));
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new TonewallError('ECONFIG', `cannot read config file ${file}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(file, [`not valid JSON: ${(err as Error).message}`]);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError(file, [`(top level): expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`]);
    }
    fileObj = parsed as Record<string, unknown>;
    sources.push(file);
  } else sources.push('defaults');
  const problems: string[] = [];
  const envObj = readEnv(env, problems);
  if (Object.keys(envObj).length) sources.push('env');
  const merged = deepMerge(deepMerge(fileObj, envObj), options.overrides ?? {});
  const r = configSchema.safeParse(merged);
  if (!r.success) problems.push(...formatIssues(r.error.issues, merged));
  if (problems.length || !r.success) throw new ConfigError(sources.join(' + '), problems);
  return { config: r.data, sources };
}
