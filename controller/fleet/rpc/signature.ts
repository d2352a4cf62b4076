/**
 * Signatures on dangerous commands (mqtt-fleet.md §6 "Command authorization"; docs/mqtt/rpc.md).
 *
 * The fleet key is Ed25519. The signed bytes are the UTF-8 of the canonical string
 *   method + '\n' + reqId + '\n' + exp + '\n' + JSON.stringify(params ?? {})
 * where `exp` is the decimal ms-epoch expiry and `params` the object as sent. `sig` is the
 * 64-byte signature in base64 (or base64url).
 */
import { type KeyObject, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { TonewallError, errorMessage } from '../../../hw/base/errors';

export function canonicalRequest(method: string, reqId: string, exp: number, params: object | undefined): string {
  return `${method}\n${reqId}\n${exp}\n${JSON.stringify(params ?? {})}`;
}

/** Parses the fleet public key (PEM); throws EFLEET_KEY unless it is an Ed25519 public key. */
export function fleetPublicKey(pem: string | KeyObject): KeyObject {
  let key: KeyObject;
  try {
    key = typeof pem === 'string' ? createPublicKey(pem) : pem.type === 'private' ? createPublicKey(pem) : pem;
  } catch (err) {
    throw new TonewallError('EFLEET_KEY', `fleet key is not a PEM public key: ${errorMessage(err)}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new TonewallError('EFLEET_KEY', `fleet key type "${String(key.asymmetricKeyType)}" is not supported; expected ed25519`);
  }
  return key;
}

/** True when `sigB64` is a valid Ed25519 signature of `canonical` by `key`. Never throws. */
export function verifyRequestSignature(key: KeyObject, canonical: string, sigB64: string): boolean {
  if (!/^[A-Za-z0-9+/_-]{80,90}={0,2}$/.test(sigB64)) return false;
  const sig = Buffer.from(sigB64.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (sig.length !== 64) return false;
  try {
    return verify(null, Buffer.from(canonical, 'utf8'), key, sig);
  } catch {
    return false;
  }
}

/** Fleet side: signs `canonical` with the Ed25519 private key (PEM or KeyObject); base64. */
export function signRequest(privateKey: string | KeyObject, canonical: string): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  return sign(null, Buffer.from(canonical, 'utf8'), key).toString('base64');
}
