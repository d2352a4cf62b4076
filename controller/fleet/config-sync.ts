/**
 * `config/desired` → `config/reported` (DESIGN.md §6). The fleet publishes, retained,
 * `{version, config}`: a partial configuration laid over the device's file configuration (the
 * whole overlay each time, not a delta against the previous version). For each one:
 *
 *   parse (strict) ──bad──▶ rejected (errors)             versions ≤ the applied one: ignored
 *        │
 *   file config ⊕ overlay → validate with the config schema ──errors──▶ rejected (every error, with its path)
 *        │
 *   changed key paths vs. what runs now:
 *     all under a live prefix (the app's registry) → applied now (the appliers run) → `applied`
 *     any other                                    → persisted, waits for a restart → `pending_restart`
 *
 * An accepted version (applied or pending) is persisted with its overlay (store/fleet-config.ts);
 * the next start lays it over the file configuration (`configWithStoredOverlay`). The report is
 * retained on `config/reported`: `{version, state, errors[], appliedAt, restartKeys?}`. Secrets are
 * never echoed: an error at a secret key (password, key, token, …) names the path only.
 * `null` in the overlay removes a key (back to the file value or the default).
 *
 * Some keys never change over MQTT (`FIXED_CONFIG_KEYS`): the device's identity, where its state
 * (and this overlay) lives, and the key that signs dangerous commands — the signer must not be
 * replaceable by a message it would have to sign. A version that changes one is rejected.
 *
 * Signed configuration (mqtt-fleet.md §6 "Command authorization" (3)): a version that changes a key
 * under `SIGNED_CONFIG_KEYS` (payments — processor endpoint, keys, masking behaviour —, SIP media
 * encryption and edge access, where the broker and its trust live, and the requirement itself) is
 * rejected unless `sig` is the fleet key's Ed25519 signature of `canonicalConfig(version, config)`;
 * the errors name each unsigned key. Other keys apply as before. On when `mqtt.requireSignedConfig`
 * is true, or when it is unset and `mqtt.fleetPublicKeyFile` is configured (the running config).
 */
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../hw/base/clock';
import { errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { Config } from '../config/schema';
import type { FleetConfigStore } from '../store/fleet-config';
import type { JsonObject } from '../store/json';
import { type ConfigReportedBody, configDesiredSchema, issuesLine } from './payload-schemas';
import { fleetPublicKey, signRequest, verifyRequestSignature } from './rpc/signature';

export type ConfigValidator = (input: unknown) => { ok: true; config: Config } | { ok: false; errors: string[] };

/** A key prefix (`log.level`, `mqtt.metricsIntervalS`, `payments`) the app can apply without a restart. */
export interface LiveConfigKey {
  prefix: string;
  apply: (config: Config) => void;
}

export interface ConfigSyncOptions {
  /** The file configuration (with environment and flags), without any fleet overlay. */
  fileConfig: Config;
  /** The configuration the process started with (file config ⊕ the stored overlay). */
  running: Config;
  store: Pick<FleetConfigStore, 'get' | 'accept' | 'report'>;
  validate: ConfigValidator;
  live: readonly LiveConfigKey[];
  publish: (body: ConfigReportedBody) => void;
  /** Leaves an `events/config` record (`config.applied`, `config.pending_restart`, `config.rejected`). */
  record?: (type: string, data: JsonObject) => void;
  clock: Clock;
  log: Logger;
  /**
   * The fleet's Ed25519 public key for signed configuration. Default: read from the running
   * config's `mqtt.fleetPublicKeyFile` (with `readFile`); null: none.
   */
  fleetKey?: KeyObject | null;
  readFile?: (path: string) => string;
}

/**
 * Key prefixes whose change needs the fleet key's signature when signed configuration is on:
 * payments (processor endpoint, its keys and certificates, masking behaviour: blanking, fault
 * hold, field keys), SIP media encryption (`sip.srtp`, `sip.srtpSuites`: no downgrade to the
 * 32-bit tag unsigned) and edge access (`sip.edge`), the broker
 * and its trust (`mqtt.url`, `mqtt.tls`, `mqtt.username`, `mqtt.password`), and the requirement.
 */
export const SIGNED_CONFIG_KEYS: readonly string[] = ['payments', 'sip.srtp', 'sip.srtpSuites', 'sip.edge', 'mqtt.url', 'mqtt.tls', 'mqtt.username', 'mqtt.password', 'mqtt.requireSignedConfig', 'ota'];

/** The signed bytes of a desired configuration: UTF-8 of `config/desired\n{version}\n{JSON of config as sent}`. */
export function canonicalConfig(version: number, config: unknown): string {
  return `config/desired\n${version}\n${JSON.stringify(config)}`;
}

/** Fleet side: `sig` for `{version, config}` with the fleet's Ed25519 private key (PEM); base64. */
export function signConfig(privateKeyPem: string | KeyObject, version: number, config: unknown): string {
  return signRequest(privateKeyPem, canonicalConfig(version, config));
}

/** Is signed configuration required by `config` (see the file header)? */
export function signedConfigRequired(config: Config): boolean {
  return config.mqtt.requireSignedConfig ?? config.mqtt.fleetPublicKeyFile !== undefined;
}

/** Key prefixes `config/desired` may not change (see the file header). */
export const FIXED_CONFIG_KEYS: readonly string[] = ['device.id', 'device.stateDir', 'store.path', 'mqtt.fleetPublicKeyFile'];

const SECRET_KEY = /^(password|secret|key|privateKey|token|passphrase)$/i;

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `base` with `overlay` laid over it: objects merge, anything else replaces, null deletes. */
export function overlayConfig(base: unknown, overlay: unknown): unknown {
  if (!isPlain(base) || !isPlain(overlay)) return overlay === undefined ? base : overlay;
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(overlay)) {
    if (v === null) delete out[k];
    // defineProperty: a "__proto__" key stays an own (unknown, so refused) key, never a prototype.
    else Object.defineProperty(out, k, { value: overlayConfig(Object.hasOwn(base, k) ? base[k] : undefined, v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Leaf key paths whose values differ between `a` and `b` (arrays compare whole). */
export function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (isPlain(a) && isPlain(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].sort().flatMap((k) => changedPaths(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || '(root)'];
}

const under = (path: string, prefix: string): boolean => path === prefix || path.startsWith(`${prefix}.`);

/** An error line with the value withheld when its path ends at a secret key. */
export function redactErrorLine(line: string): string {
  const m = /^([A-Za-z0-9_.]+): /.exec(line);
  const path = m?.[1];
  if (path === undefined) return nestsSecret(line) ? 'is not valid (value withheld: it holds a secret)' : line;
  const last = path.slice(path.lastIndexOf('.') + 1);
  if (SECRET_KEY.test(last)) return `${path}: is not valid (value withheld: secret)`;
  // A wrongly typed value echoed whole may carry a secret inside (`device.site: {"token":…}`).
  return nestsSecret(line.slice(m?.[0].length ?? 0)) ? `${path}: is not valid (value withheld: it holds a secret)` : line;
}

/** Does echoed text hold an object key with a secret name (`"token":`, `token:`)? */
function nestsSecret(text: string): boolean {
  for (const k of text.matchAll(/"?([A-Za-z_][A-Za-z0-9_]*)"?\s*:/g)) if (SECRET_KEY.test(k[1] ?? '')) return true;
  return false;
}

/** The configuration to start with: the file configuration ⊕ the stored overlay, if it still validates. */
export function configWithStoredOverlay(fileConfig: Config, store: Pick<FleetConfigStore, 'get'>, validate: ConfigValidator, log: Logger): { config: Config; version: number } {
  const stored = store.get();
  if (stored.version === 0) return { config: fileConfig, version: 0 };
  const r = validate(overlayConfig(fileConfig, stored.overlay));
  if (r.ok) return { config: r.config, version: stored.version };
  log.error('the stored fleet configuration no longer validates; starting from the file configuration', { version: stored.version, errors: r.errors.map(redactErrorLine).slice(0, 10) });
  return { config: fileConfig, version: 0 };
}

export class ConfigSync {
  private effective: Config;
  private readonly log: Logger;
  private readonly fleetKey: KeyObject | null;
  private readonly requireSigned: boolean;

  constructor(private readonly opts: ConfigSyncOptions) {
    this.effective = opts.running;
    this.log = opts.log.child('config-sync');
    this.requireSigned = signedConfigRequired(opts.running);
    this.fleetKey = opts.fleetKey !== undefined ? opts.fleetKey : this.loadFleetKey();
  }

  private loadFleetKey(): KeyObject | null {
    const file = this.opts.running.mqtt.fleetPublicKeyFile;
    if (file === undefined) return null;
    try {
      return fleetPublicKey((this.opts.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(file));
    } catch (err) {
      // Fail closed: with the requirement on, sensitive changes are refused until the key loads.
      this.log.error('fleet key for signed configuration not loaded', { file, err: errorMessage(err) });
      return null;
    }
  }

  /** Errors for sensitive keys changed without a valid signature (none when not required). */
  private signatureErrors(version: number, rawConfig: unknown, sig: string | undefined, next: Config): string[] {
    if (!this.requireSigned) return [];
    const sensitive = changedPaths(this.effective, next).filter((p) => SIGNED_CONFIG_KEYS.some((k) => under(p, k)));
    if (sensitive.length === 0) return [];
    let why: string;
    if (sig === undefined) why = 'changing it over MQTT needs "sig", the fleet key\'s Ed25519 signature of the desired configuration';
    else if (!this.fleetKey) why = 'changing it over MQTT needs a fleet-key signature and no fleet key is loaded (mqtt.fleetPublicKeyFile)';
    else if (!verifyRequestSignature(this.fleetKey, canonicalConfig(version, rawConfig), sig)) why = '"sig" does not verify with the fleet key for this version and configuration';
    else return [];
    return sensitive.map((p) => `${p}: ${why}`);
  }

  /** The applied desired version (0: none). */
  get appliedVersion(): number {
    return this.opts.store.get().version;
  }

  /** Republishes the last stored report (at start: config/reported is retained state). */
  start(): void {
    const last = this.opts.store.get().reported;
    if (last) this.opts.publish(last as unknown as ConfigReportedBody);
  }

  /** Handles one `config/desired` payload; returns the report published, or undefined when ignored. */
  handle(payload: Buffer): ConfigReportedBody | undefined {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return this.reject(0, [`(root): payload is not JSON (${errorMessage(err)}); expected {"version":N,"config":{…}}`]);
    }
    const parsed = configDesiredSchema.safeParse(json);
    if (!parsed.success) {
      const v = isPlain(json) && Number.isSafeInteger(json['version']) && Number(json['version']) > 0 ? Number(json['version']) : 0;
      return this.reject(v, [`desired ${issuesLine(parsed.error, 20)}`]);
    }
    const { version, config: overlay, actor, sig } = parsed.data;
    const applied = this.appliedVersion;
    if (version <= applied) {
      this.log.debug('desired configuration ignored: not above the applied version', { version, applied });
      return undefined;
    }
    const result = this.opts.validate(overlayConfig(this.opts.fileConfig, overlay));
    if (!result.ok) return this.reject(version, result.errors);
    const next = result.config;
    const changed = changedPaths(this.opts.running, next);
    const fixed = changed.filter((p) => FIXED_CONFIG_KEYS.some((f) => under(p, f)));
    if (fixed.length > 0) return this.reject(version, fixed.map((p) => `${p}: cannot be changed over MQTT (identity, state location or the command-signing key); change it in the configuration file`));
    // The signature covers the config object as received (before schema parsing).
    const unsigned = this.signatureErrors(version, (json as { config: unknown }).config, sig, next);
    if (unsigned.length > 0) return this.reject(version, unsigned);
    const restartKeys = changed.filter((p) => !this.opts.live.some((l) => under(p, l.prefix)));
    const liveChanged = changedPaths(this.effective, next).filter((p) => this.opts.live.some((l) => under(p, l.prefix)));
    for (const l of this.opts.live) {
      if (!liveChanged.some((p) => under(p, l.prefix))) continue;
      try {
        l.apply(next);
      } catch (err) {
        this.log.warn('live configuration change failed; it waits for a restart', { prefix: l.prefix, err: errorMessage(err) });
        restartKeys.push(...liveChanged.filter((p) => under(p, l.prefix)));
      }
    }
    this.effective = next;
    const report: ConfigReportedBody = {
      version,
      state: restartKeys.length > 0 ? 'pending_restart' : 'applied',
      errors: [],
      appliedAt: this.opts.clock.now(),
      ...(restartKeys.length > 0 ? { restartKeys: [...new Set(restartKeys)].sort() } : {}),
    };
    try {
      this.opts.store.accept(version, overlay as JsonObject, report);
    } catch (err) {
      return this.reject(version, [`(root): the configuration could not be persisted: ${errorMessage(err)}`]);
    }
    this.log.info('desired configuration accepted', { version, state: report.state, changed: liveChanged.length, restartKeys: report.restartKeys?.length ?? 0 });
    this.opts.publish(report);
    this.event(`config.${report.state}`, { version, ...(actor ? { actor } : {}), ...(report.restartKeys ? { restartKeys: report.restartKeys } : {}) });
    return report;
  }

  private reject(version: number, errors: string[]): ConfigReportedBody {
    const report: ConfigReportedBody = { version, state: 'rejected', errors: errors.map(redactErrorLine), appliedAt: this.opts.clock.now() };
    this.log.warn('desired configuration rejected', { version, errors: report.errors.length });
    try {
      this.opts.store.report(report);
    } catch (err) {
      this.log.warn('config report not persisted', { err: errorMessage(err) });
    }
    this.opts.publish(report);
    this.event('config.rejected', { version, errorCount: report.errors.length });
    return report;
  }

  private event(type: string, data: JsonObject): void {
    try {
      this.opts.record?.(type, data);
    } catch (err) {
      this.log.warn('config event not recorded', { type, err: errorMessage(err) });
    }
  }
}
