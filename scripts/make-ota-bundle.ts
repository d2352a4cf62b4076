/**
 * Builds a signed update bundle of this tree (docs/mqtt/ota.md "Bundle format") and, given a URL
 * and a job id, prints the signed `ota/job` for it.
 *
 *   node dist/scripts/make-ota-bundle.js --key fleet-ed25519.pem --out x.bundle [--version 0.2.0] \
 *        [--url https://…/x.bundle --job-id rel-0.2.0] [--include package.json,dist/controller,…]
 *
 * The version defaults to package.json's; a different --version is refused (the installed tree
 * reports package.json's version, so the manifest must say the same).
 *
 * The key is the fleet's Ed25519 private key (PEM); the device verifies with the public half
 * (mqtt.fleetPublicKeyFile).
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildBundle, sha256 } from '../controller/fleet/ota/bundle';
import { signOtaJob } from '../controller/fleet/ota/job';

const DEFAULT_INCLUDE = ['package.json', 'dist/controller', 'dist/hw', 'dist/firmware'];

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function main(argv: string[]): number {
  const keyFile = arg(argv, 'key');
  const out = arg(argv, 'out');
  if (!keyFile || !out) {
    console.error('usage: make-ota-bundle --key <ed25519 private PEM> --out <file> [--version <v>] [--url <https url> --job-id <id>] [--include a,b,…]');
    return 2;
  }
  const root = resolve(__dirname, '..', '..');
  const pkgVersion = (JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { version: string }).version;
  const version = arg(argv, 'version') ?? pkgVersion;
  if (version !== pkgVersion) {
    console.error(`--version ${version} differs from package.json's ${pkgVersion}: set the version in package.json and rebuild`);
    return 2;
  }
  const include = (arg(argv, 'include') ?? DEFAULT_INCLUDE.join(',')).split(',').filter(Boolean);
  const privateKey = createPrivateKey(readFileSync(keyFile, 'utf8'));
  const bundle = buildBundle({ root, include, version, privateKey });
  writeFileSync(out, bundle);
  const digest = sha256(bundle);
  console.error(`${out}: version ${version}, ${bundle.length} bytes, sha256 ${digest}`);
  const url = arg(argv, 'url');
  const jobId = arg(argv, 'job-id');
  if (url && jobId) {
    const job = signOtaJob(privateKey, { jobId, version, artifact: { url, sha256: digest, size: bundle.length } });
    console.log(JSON.stringify(job));
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
