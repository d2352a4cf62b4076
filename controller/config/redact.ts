/**
 * The configuration as it may be shown (logs, `config check`, MQTT `info`/`config/reported`):
 * secrets are replaced by "***" (DESIGN.md §6: no secrets echoed).
 */
import type { Config } from './schema';

const SECRET_KEYS = /^(password|secret|key|privateKey|token|passphrase)$/i;

export function redactConfig(config: Config): unknown {
  const walk = (v: unknown, key: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, walk(x, k)]));
    }
    return SECRET_KEYS.test(key) && v !== undefined && v !== '' ? '***' : v;
  };
  return walk(config, '');
}
