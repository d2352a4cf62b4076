/**
 * Finds and loads tonewall's native addon (firmware/native, packaged with @mapbox/node-pre-gyp).
 *
 * Load order (the first that loads wins; every failure is kept in `tried` for `health`):
 *   1. $TONEWALL_NATIVE_ADDON: an explicit path to a .node file (tests, field diagnostics);
 *   2. firmware/native/lib/binding/napi-v8-linux-<arch>/tonewall_native.node: where node-pre-gyp
 *      puts the build and where the image ships it (module_path in firmware/native/package.json);
 *   3. firmware/native/build/Release/tonewall_native.node: a developer's plain `node-gyp build`.
 * If none loads, `addon` is undefined and callers use their pure-JS fallback (notify.ts spawns
 * systemd-notify; card-data buffers are still wiped with Buffer.fill but are not locked out of
 * swap) and report it in `health`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage } from '../../hw/base/errors';

/** What the addon exports (src/tonewall_native.c, ABI version 1). */
export interface NativeAddon {
  /** One datagram to systemd's notify socket (a leading '@' is the abstract namespace); bytes sent. */
  notify(socketPath: string, message: string): number;
  /** Lock the pages backing `buf` out of swap (mlock(2)). */
  mlock(buf: Buffer): void;
  munlock(buf: Buffer): void;
  /** Zero `buf` with explicit_bzero (not elided by the compiler). */
  wipe(buf: Buffer): void;
  /** SCHED_FIFO at priority 1..99 for the calling thread. */
  setRealtime(priority: number): void;
  readonly abiVersion: number;
}

export const NATIVE_ABI_VERSION = 1;

export interface NativeLoadResult {
  addon: NativeAddon | undefined;
  /** The file that loaded. */
  path: string | undefined;
  /** Every candidate tried before (and including) the one that loaded, with why it failed. */
  tried: { path: string; error: string | undefined }[];
}

export interface NativeLoadOptions {
  env?: Record<string, string | undefined>;
  arch?: string;
  /** The firmware/native directory (default: found from this file, in dist/ or the source tree). */
  nativeDir?: string;
  /** Replaces `require` (tests). */
  load?: (path: string) => unknown;
}

/** The addon directory: dist/firmware/native -> ../../../firmware/native; the source tree -> here. */
function defaultNativeDir(): string {
  const fromDist = resolve(__dirname, '../../../firmware/native');
  return existsSync(join(fromDist, 'binding.gyp')) || existsSync(join(fromDist, 'lib')) ? fromDist : __dirname;
}

export function nativeCandidates(nativeDir: string, arch: string, env: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  const explicit = env['TONEWALL_NATIVE_ADDON'];
  if (explicit) out.push(explicit);
  out.push(join(nativeDir, 'lib', 'binding', `napi-v8-linux-${arch}`, 'tonewall_native.node'));
  out.push(join(nativeDir, 'build', 'Release', 'tonewall_native.node'));
  return out;
}

function isAddon(v: unknown): v is NativeAddon {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return ['notify', 'mlock', 'munlock', 'wipe', 'setRealtime'].every((k) => typeof o[k] === 'function') && o['abiVersion'] === NATIVE_ABI_VERSION;
}

/** Loads a .node file as require() would, without a require() call (process.dlopen). */
function dlopen(path: string): unknown {
  const mod: { exports: unknown } = { exports: {} };
  process.dlopen(mod, path);
  return mod.exports;
}

export function loadNativeAddon(options: NativeLoadOptions = {}): NativeLoadResult {
  const env = options.env ?? process.env;
  const load = options.load ?? dlopen;
  const tried: NativeLoadResult['tried'] = [];
  for (const path of nativeCandidates(options.nativeDir ?? defaultNativeDir(), options.arch ?? process.arch, env)) {
    if (!existsSync(path)) {
      tried.push({ path, error: 'not found' });
      continue;
    }
    try {
      const mod = load(path);
      if (!isAddon(mod)) {
        tried.push({ path, error: `not tonewall_native ABI ${NATIVE_ABI_VERSION}` });
        continue;
      }
      tried.push({ path, error: undefined });
      return { addon: mod, path, tried };
    } catch (err) {
      tried.push({ path, error: errorMessage(err) });
    }
  }
  return { addon: undefined, path: undefined, tried };
}
