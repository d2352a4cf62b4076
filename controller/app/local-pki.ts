/**
 * A throwaway PKI for the in-process test processor (payments.processor.kind = "test", the demo):
 * a CA, a server certificate for 127.0.0.1 and a client certificate, made with the `openssl` CLI
 * (Node has no X.509 issuing API) under the state directory, reused while they are valid. Never used
 * for a real processor, whose certificates come from payments.processor.*File.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TonewallError, errorMessage } from '../../hw/base/errors';

export interface LocalPki {
  ca: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
}

const SERVER_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n';

function ssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function leaf(dir: string, name: string, ext: string): void {
  ssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  ssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=tonewall-test-processor-${name}`, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  ssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
}

/** Loads the PKI from `dir`, making it first when absent or older than 20 days. */
export function localPki(dir: string): LocalPki {
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  const fresh = existsSync(join(dir, 'client.crt')) && Date.now() - (JSON.parse(existsSync(join(dir, 'made.json')) ? read('made.json') : '{"at":0}') as { at: number }).at < 20 * 86_400_000;
  if (!fresh) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      ssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
      ssl(dir, ['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '30', '-subj', '/CN=tonewall-test-processor-ca', '-out', 'ca.crt']);
      leaf(dir, 'server', SERVER_EXT);
      leaf(dir, 'client', CLIENT_EXT);
      writeFileSync(join(dir, 'made.json'), JSON.stringify({ at: Date.now() }));
    } catch (err) {
      throw new TonewallError('EPKI', `cannot make the test processor's certificates with openssl in ${dir}: ${errorMessage(err)}`);
    }
  }
  return { ca: read('ca.crt'), server: { cert: read('server.crt'), key: read('server.key') }, client: { cert: read('client.crt'), key: read('client.key') } };
}
