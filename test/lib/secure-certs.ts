/**
 * Throwaway PKI for processor tests, made with the `openssl` CLI in a per-test temp directory:
 * a CA, a server certificate for 127.0.0.1 and a client certificate signed by it, plus a rogue CA
 * with its own server and client certificates (for the bad-certificate cases). EC P-256 keys keep it
 * fast. `removePki` deletes the directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertPair {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  ca: string;
  server: CertPair;
  client: CertPair;
  rogueCa: string;
  rogueServer: CertPair;
  rogueClient: CertPair;
}

export function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Skips the suite without openssl, or fails it under CI (test rules). */
export function requireOpenssl(ctx: Mocha.Context): void {
  if (haveOpenssl()) return;
  if (process.env.CI) throw new Error('openssl is required under CI');
  // eslint-disable-next-line no-console -- a skipped test says why
  console.log('      skipped: openssl is not installed');
  ctx.skip();
}

function ssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  ssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  ssl(dir, ['req', '-x509', '-new', '-key', `${name}.key`, '-sha256', '-days', '2', '-subj', `/CN=${name}`, '-out', `${name}.crt`]);
}

function makeLeaf(dir: string, name: string, ca: string, ext: string): CertPair {
  ssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  ssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  ssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
  return { cert: readFileSync(join(dir, `${name}.crt`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
}

const serverExt = (ips: readonly string[]): string => `subjectAltName=${['127.0.0.1', ...ips].map((ip) => `IP:${ip}`).join(',')},DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n`;
const SERVER_EXT = serverExt([]);
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n';

/** `serverIps`: addresses the server certificate is also valid for (e.g. 10.0.2.2 as a QEMU guest sees the host). */
export function makeTestPki(serverIps: readonly string[] = []): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tonewall-secure-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue-ca');
  return {
    dir,
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    server: makeLeaf(dir, 'server', 'ca', serverExt(serverIps)),
    client: makeLeaf(dir, 'client', 'ca', CLIENT_EXT),
    rogueCa: readFileSync(join(dir, 'rogue-ca.crt'), 'utf8'),
    rogueServer: makeLeaf(dir, 'rogue-server', 'rogue-ca', SERVER_EXT),
    rogueClient: makeLeaf(dir, 'rogue-client', 'rogue-ca', CLIENT_EXT),
  };
}

export function removePki(pki: TestPki | undefined): void {
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
}
