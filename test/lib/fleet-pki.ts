/**
 * A throwaway PKI for the broker ACL tests (test-peers.md §3), made with the `openssl` CLI in a temp
 * directory: a CA, a server certificate for 127.0.0.1/localhost, a client certificate per CN (device
 * ids and the fleet role), and a rogue CA with a client certificate of its own. EC P-256 keeps it fast.
 * Files are written with paths returned, as mosquitto and the CLI take files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PkiFiles {
  cert: string;
  key: string;
}

export interface FleetPki {
  dir: string;
  caFile: string;
  server: PkiFiles;
  /** Client certificates by CN, signed by the CA. */
  clients: Record<string, PkiFiles>;
  /** A client certificate (CN = the first requested) signed by a CA the broker does not trust. */
  rogueClient: PkiFiles;
  /** The operations CA (fleet role certificates only; the fleet listener trusts it alone). */
  opsCaFile: string;
  /** Client certificates by CN signed by the operations CA (`opsCns`). */
  opsClients: Record<string, PkiFiles>;
  dispose(): void;
}

function ssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  ssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  ssl(dir, ['req', '-x509', '-new', '-key', `${name}.key`, '-sha256', '-days', '2', '-subj', `/CN=${name}`, '-out', `${name}.crt`]);
}

function makeLeaf(dir: string, file: string, cn: string, ca: string, ext: string): PkiFiles {
  ssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${file}.key`]);
  ssl(dir, ['req', '-new', '-key', `${file}.key`, '-subj', `/CN=${cn}`, '-out', `${file}.csr`]);
  writeFileSync(join(dir, `${file}.ext`), ext);
  ssl(dir, ['x509', '-req', '-in', `${file}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', `${file}.ext`, '-out', `${file}.crt`]);
  return { cert: join(dir, `${file}.crt`), key: join(dir, `${file}.key`) };
}

/** `cns`: client certificate CNs (device ids, `fleet.ops`); `opsCns`: CNs signed by the operations CA. */
export function makeFleetPki(cns: string[], opsCns: string[] = []): FleetPki {
  const dir = mkdtempSync(join(tmpdir(), 'tw-fleet-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue-ca');
  makeCa(dir, 'ops-ca');
  const opsClients: Record<string, PkiFiles> = {};
  opsCns.forEach((cn, i) => (opsClients[cn] = makeLeaf(dir, `ops-client-${i}`, cn, 'ops-ca', 'extendedKeyUsage=clientAuth\n')));
  const server = makeLeaf(dir, 'server', 'localhost', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  const clients: Record<string, PkiFiles> = {};
  cns.forEach((cn, i) => (clients[cn] = makeLeaf(dir, `client-${i}`, cn, 'ca', 'extendedKeyUsage=clientAuth\n')));
  const rogueClient = makeLeaf(dir, 'rogue-client', cns[0] ?? 'rogue', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  return { dir, caFile: join(dir, 'ca.crt'), server, clients, rogueClient, opsCaFile: join(dir, 'ops-ca.crt'), opsClients, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * mosquitto.conf lines (for startMosquitto's extraConf) that turn its listener into TLS with client
 * certificates as identity and the ACL file: the docs/mqtt/acl.md setup.
 */
export function aclBrokerConf(pki: FleetPki, aclFile: string): string[] {
  return [
    `cafile ${pki.caFile}`,
    `certfile ${pki.server.cert}`,
    `keyfile ${pki.server.key}`,
    'require_certificate true',
    'use_identity_as_username true',
    'allow_anonymous false',
    `acl_file ${aclFile}`,
  ];
}

/**
 * The client-id takeover mitigation (docs/mqtt/acl.md "Client ids"): the first listener (startMosquitto's,
 * for devices) trusts the device CA and replaces every client id by the certificate CN
 * (`use_username_as_clientid` with `use_identity_as_username`), so a device cannot claim another
 * device's id; a second listener on `opsPort` for the fleet role trusts only the operations CA
 * and leaves client ids alone (several operator tools share the CN `fleet.ops`).
 */
export function takeoverSafeBrokerConf(pki: FleetPki, aclFile: string, opsPort: number): string[] {
  const tls = (ca: string): string[] => [`cafile ${ca}`, `certfile ${pki.server.cert}`, `keyfile ${pki.server.key}`, 'require_certificate true', 'use_identity_as_username true'];
  return [
    ...tls(pki.caFile),
    'use_username_as_clientid true',
    `listener ${opsPort} 127.0.0.1`,
    ...tls(pki.opsCaFile),
    'allow_anonymous false',
    `acl_file ${aclFile}`,
  ];
}

/** The repository's ACL template (docs/mqtt/mosquitto-acl.conf), from dist/test/lib. */
export const ACL_TEMPLATE = join(__dirname, '..', '..', '..', 'docs', 'mqtt', 'mosquitto-acl.conf');
