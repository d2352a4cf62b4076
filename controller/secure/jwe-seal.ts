/**
 * Encrypts the payment plaintext to the processor's public key as a JWE compact serialisation
 * (RFC 7516 §7.1) with the `jose` package: key management RSA-OAEP-256 (RFC 7518 §4.3) or ECDH-ES
 * (RFC 7518 §4.6, P-256/384/521 or X25519), content encryption A256GCM (RFC 7518 §5.3).
 *
 * Contract: the plaintext is built as bytes from the captured digits and zero-filled in a `finally`
 * as soon as the JWE exists, success or failure. The captured digits themselves are the caller's to
 * destroy (the session does it right after `seal` resolves).
 */
import { secureRelease } from '../../hw/base/secure-memory';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { CompactEncrypt } from 'jose';
import { TonewallError } from '../../hw/base/errors';
import { buildPlaintext } from './payment-plaintext';
import type { PaymentSecrets, SealedPayment } from './processor-types';

export const JWE_ALGORITHMS = ['RSA-OAEP-256', 'ECDH-ES'] as const;
export type JweAlgorithm = (typeof JWE_ALGORITHMS)[number];
export const JWE_ENCRYPTION = 'A256GCM';

/** Parses the processor's public key (SPKI PEM) and checks it suits `alg`. */
export function processorPublicKey(pem: string, alg: JweAlgorithm): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new TonewallError('ESECURE_KEY', `processor public key is not a valid SPKI PEM: ${err instanceof Error ? err.message : 'unknown error'}`);
  }
  const type = key.asymmetricKeyType ?? 'unknown';
  const ok = alg === 'RSA-OAEP-256' ? type === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 : type === 'ec' || type === 'x25519';
  if (!ok) {
    const expected = alg === 'RSA-OAEP-256' ? 'an RSA key of at least 2048 bits' : 'an EC (P-256/384/521) or X25519 key';
    throw new TonewallError('ESECURE_KEY', `processor public key of type ${type} does not suit ${alg}; expected ${expected}`);
  }
  return key;
}

export async function sealPayment(secrets: PaymentSecrets, key: KeyObject, alg: JweAlgorithm, keyId?: string): Promise<SealedPayment> {
  const plaintext = buildPlaintext(secrets);
  try {
    const header: { alg: JweAlgorithm; enc: typeof JWE_ENCRYPTION; cty: string; kid?: string } = { alg, enc: JWE_ENCRYPTION, cty: 'application/json' };
    if (keyId !== undefined) header.kid = keyId;
    const jwe = await new CompactEncrypt(plaintext).setProtectedHeader(header).encrypt(key);
    return { jwe };
  } finally {
    // Zeroed (explicit_bzero with the native addon) and back to the locked arena. jose's own
    // working copies are JS-heap Uint8Arrays this code cannot reach (docs/payments.md).
    secureRelease(plaintext);
  }
}
