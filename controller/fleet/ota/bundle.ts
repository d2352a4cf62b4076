/**
 * Update bundles (docs/mqtt/ota.md "Bundle format"): a ustar archive of exactly three members
 *
 *   manifest.json    {format: "tonewall-app@1", version, created, payload: {file, sha256, size}}
 *   manifest.sig     the fleet key's Ed25519 signature of manifest.json's bytes, base64
 *   payload.tar.gz   the controller tree (package.json, dist/…, scripts/…) as gzip'd ustar
 *
 * The job carries the sha256 of the whole bundle (checked while downloading); the signed manifest
 * carries the payload's, so a bundle is installed only when both the fleet's job and the bundle's
 * own signature agree. Nothing is written into a slot before every check has passed.
 */
import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import { createReadStream, existsSync, fsyncSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync, createGunzip } from 'node:zlib';
import { z } from 'zod';
import { TonewallError, errorMessage } from '../../../hw/base/errors';
import { issuesLine } from '../payload-schemas';
import { UstarReader, encodeHeader, padding, type UstarEntry } from './ustar';

export const BUNDLE_FORMAT = 'tonewall-app@1';
const MEMBERS = ['manifest.json', 'manifest.sig', 'payload.tar.gz'] as const;
const MAX_MANIFEST_BYTES = 16 * 1024;

export const manifestSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  version: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/),
  created: z.string().max(64),
  payload: z.strictObject({ file: z.literal('payload.tar.gz'), sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().min(1) }),
});
export type BundleManifest = z.infer<typeof manifestSchema>;

/** An archive in memory (small trees: tests, the bundle's outer layer). */
export function ustarArchive(entries: readonly { path: string; data?: Buffer; mode?: number }[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data;
    const entry: UstarEntry = data ? { path: e.path, type: 'file', mode: e.mode ?? 0o644, size: data.length } : { path: e.path, type: 'dir', mode: e.mode ?? 0o755, size: 0 };
    parts.push(encodeHeader(entry));
    if (data) parts.push(data, padding(data.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Files under `root` for `include` (relative paths of files or directories), sorted. */
export function treeEntries(root: string, include: readonly string[]): { path: string; data?: Buffer; mode?: number }[] {
  const out: { path: string; data?: Buffer; mode?: number }[] = [];
  const walk = (abs: string): void => {
    const st = statSync(abs);
    const rel = relative(root, abs).split('\\').join('/');
    if (st.isDirectory()) {
      out.push({ path: rel });
      for (const name of readdirSync(abs).sort()) walk(join(abs, name));
    } else if (st.isFile()) out.push({ path: rel, data: readFileSync(abs), mode: st.mode & 0o111 ? 0o755 : 0o644 });
  };
  for (const inc of include) walk(join(root, inc));
  return out;
}

/** Builds a signed bundle for `version` from `include` under `root` (scripts/make-ota-bundle.ts, tests). */
export function buildBundle(o: { root: string; include: readonly string[]; version: string; privateKey: KeyObject; created?: string; tamper?: (m: BundleManifest) => void }): Buffer {
  const payload = gzipSync(ustarArchive(treeEntries(o.root, o.include)));
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: o.version,
    created: o.created ?? new Date().toISOString(),
    payload: { file: 'payload.tar.gz', sha256: sha256(payload), size: payload.length },
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const sig = Buffer.from(sign(null, manifestBytes, o.privateKey).toString('base64'));
  if (o.tamper) o.tamper(manifest);
  const finalManifest = o.tamper ? Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) : manifestBytes;
  return ustarArchive([
    { path: 'manifest.json', data: finalManifest },
    { path: 'manifest.sig', data: sig },
    { path: 'payload.tar.gz', data: payload },
  ]);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function readArchive(stream: NodeJS.ReadableStream, onEntry: (e: UstarEntry) => void, onData: (e: UstarEntry, c: Buffer) => void, onEntryEnd: (e: UstarEntry) => void): Promise<void> {
  const reader = new UstarReader({ onEntry, onData, onEntryEnd });
  for await (const chunk of stream) {
    if (reader.done) break;
    reader.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  }
  reader.finish();
}

export interface VerifiedBundle {
  manifest: BundleManifest;
  /** The payload, unpacked from the bundle into the work directory. */
  payloadPath: string;
}

/**
 * Checks the bundle at `file`: exactly the three members, the manifest's signature with the fleet
 * key, its version = `expectVersion`, the payload's size and sha256. Writes the members into
 * `workDir` (emptied first). Throws EOTA_VERIFY naming the failed check.
 */
export async function verifyBundle(file: string, expectVersion: string, fleetKey: KeyObject, workDir: string): Promise<VerifiedBundle> {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const seen = new Set<string>();
  const small = new Map<string, Buffer[]>();
  let fd: number | undefined;
  const payloadHash = createHash('sha256');
  let payloadSize = 0;
  try {
    await readArchive(
      createReadStream(file),
      (e) => {
        if (e.type !== 'file' || !(MEMBERS as readonly string[]).includes(e.path)) throw new TonewallError('EOTA_VERIFY', `bundle member "${e.path.slice(0, 120)}" is not one of ${MEMBERS.join(', ')}`);
        if (seen.has(e.path)) throw new TonewallError('EOTA_VERIFY', `bundle member "${e.path}" appears twice`);
        seen.add(e.path);
        if (e.path === 'payload.tar.gz') fd = openSync(join(workDir, 'payload.tar.gz'), 'w', 0o600);
        else if (e.size > MAX_MANIFEST_BYTES) throw new TonewallError('EOTA_VERIFY', `bundle member ${e.path} is ${e.size} bytes; at most ${MAX_MANIFEST_BYTES}`);
        else small.set(e.path, []);
      },
      (e, c) => {
        if (e.path === 'payload.tar.gz' && fd !== undefined) {
          writeSync(fd, c);
          payloadHash.update(c);
          payloadSize += c.length;
        } else small.get(e.path)?.push(Buffer.from(c));
      },
      (e) => {
        if (e.path === 'payload.tar.gz' && fd !== undefined) {
          fsyncSync(fd);
          closeSync(fd);
          fd = undefined;
        }
      },
    );
  } catch (err) {
    if (err instanceof TonewallError && err.code === 'EOTA_VERIFY') throw err;
    throw new TonewallError('EOTA_VERIFY', `bundle is not a valid archive: ${errorMessage(err)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  for (const m of MEMBERS) if (!seen.has(m)) throw new TonewallError('EOTA_VERIFY', `bundle has no ${m}`);
  const manifestBytes = Buffer.concat(small.get('manifest.json') ?? []);
  const sigText = Buffer.concat(small.get('manifest.sig') ?? []).toString('latin1').trim();
  const sig = /^[A-Za-z0-9+/]{86}==$/.test(sigText) ? Buffer.from(sigText, 'base64') : Buffer.alloc(0);
  let signed = false;
  try {
    signed = sig.length === 64 && verify(null, manifestBytes, fleetKey, sig);
  } catch {
    signed = false;
  }
  if (!signed) throw new TonewallError('EOTA_VERIFY', 'bundle manifest signature does not verify with the fleet key');
  let json: unknown;
  try {
    json = JSON.parse(manifestBytes.toString('utf8'));
  } catch {
    throw new TonewallError('EOTA_VERIFY', 'bundle manifest.json is not JSON');
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) throw new TonewallError('EOTA_VERIFY', `bundle manifest.json is invalid: ${issuesLine(r.error)}`);
  const manifest = r.data;
  if (manifest.version !== expectVersion) throw new TonewallError('EOTA_VERIFY', `bundle holds version "${manifest.version}"; the job installs "${expectVersion}"`);
  if (payloadSize !== manifest.payload.size) throw new TonewallError('EOTA_VERIFY', `bundle payload is ${payloadSize} bytes; the manifest says ${manifest.payload.size}`);
  const digest = payloadHash.digest('hex');
  if (digest !== manifest.payload.sha256) throw new TonewallError('EOTA_VERIFY', `bundle payload sha256 is ${digest}; the manifest says ${manifest.payload.sha256}`);
  return { manifest, payloadPath: join(workDir, 'payload.tar.gz') };
}

/** Marker written into an installed slot. */
export const SLOT_MARKER = '.tonewall-slot.json';

/**
 * Unpacks a verified payload into `slotDir` (empty). The tree must hold package.json and
 * dist/controller/app/cli.js. A tree without node_modules gets a link to `factoryDir`'s (the
 * dependencies the image ships). Throws EOTA_INSTALL.
 */
export async function installPayload(payloadPath: string, slotDir: string, meta: { version: string; jobId: string; factoryDir?: string }): Promise<void> {
  let fd: number | undefined;
  try {
    await readArchive(
      createReadStream(payloadPath).pipe(createGunzip()),
      (e) => {
        const abs = join(slotDir, e.path);
        if (e.type === 'dir') mkdirSync(abs, { recursive: true });
        else {
          mkdirSync(dirname(abs), { recursive: true });
          fd = openSync(abs, 'wx', e.mode & 0o111 ? 0o755 : 0o644);
        }
      },
      (_e, c) => {
        if (fd !== undefined) writeSync(fd, c);
      },
      () => {
        if (fd !== undefined) {
          fsyncSync(fd);
          closeSync(fd);
          fd = undefined;
        }
      },
    );
  } catch (err) {
    throw new TonewallError('EOTA_INSTALL', `unpacking the payload into ${slotDir} failed: ${errorMessage(err)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  for (const need of ['package.json', join('dist', 'controller', 'app', 'cli.js')]) {
    if (!existsSync(join(slotDir, need))) throw new TonewallError('EOTA_INSTALL', `the payload has no ${need}`);
  }
  if (!existsSync(join(slotDir, 'node_modules')) && meta.factoryDir && existsSync(join(meta.factoryDir, 'node_modules'))) {
    symlinkSync(realpathSync(join(meta.factoryDir, 'node_modules')), join(slotDir, 'node_modules'));
  }
  writeFileSync(join(slotDir, SLOT_MARKER), `${JSON.stringify({ version: meta.version, jobId: meta.jobId, installedAt: new Date().toISOString() })}\n`);
}

/** Streams `file`'s sha256 (hex). */
export async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}
