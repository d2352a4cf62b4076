/**
 * Builds the generic JWE/mTLS connector from file paths (the shape of the proposed `payments.processor`
 * config slice, docs/payments.md). Key and certificate files are read once at start; the client key
 * should come from a root-only credential (systemd LoadCredential=), never the repo or the image.
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '../../hw/base/clock';
import { TonewallError } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { JweAlgorithm } from './jwe-seal';
import { JweHttpsConnector } from './processor-connector';

export interface ProcessorFiles {
  url: string;
  alg: JweAlgorithm;
  /** SPKI PEM of the processor's JWE key. */
  publicKeyFile: string;
  keyId?: string;
  /** CA that signs the processor's server certificate (the only trust anchor). */
  caFile: string;
  /** Client certificate chain and key for mutual TLS. */
  certFile: string;
  keyFile: string;
  serverCertSha256?: string;
  timeoutMs: number;
}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new TonewallError('ESECURE_FILE', `cannot read ${what} ${path}: ${err instanceof Error ? err.message : 'unknown error'}`);
  }
}

export function connectorFromFiles(files: ProcessorFiles, clock: Clock, logger: Logger): JweHttpsConnector {
  const tls = {
    ca: read(files.caFile, 'processor CA file'),
    cert: read(files.certFile, 'client certificate file'),
    key: read(files.keyFile, 'client key file'),
    ...(files.serverCertSha256 !== undefined ? { serverCertSha256: files.serverCertSha256 } : {}),
  };
  return new JweHttpsConnector({
    url: files.url,
    alg: files.alg,
    publicKeyPem: read(files.publicKeyFile, 'processor public key file'),
    ...(files.keyId !== undefined ? { keyId: files.keyId } : {}),
    tls,
    timeoutMs: files.timeoutMs,
    clock,
    logger,
  });
}
