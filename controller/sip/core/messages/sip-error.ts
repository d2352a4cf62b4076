/**
 * Errors of the SIP message layer: a TonewallError whose quoted values are clipped (a 3000-byte
 * header value must not become a 3000-byte log line or Warning header), at most 400 characters in
 * all; the fault and the expectation stay readable.
 */
import { TonewallError } from '../../../../hw/base/errors';

const MAX_QUOTED = 60;
const MAX_MESSAGE = 400;

export function clipQuoted(message: string): string {
  const clipped = message.replace(/"([^"]*)"/g, (all, inner: string) => (inner.length > MAX_QUOTED ? `"${inner.slice(0, MAX_QUOTED - 3)}..."` : all));
  return clipped.length > MAX_MESSAGE ? `${clipped.slice(0, 300)} ... ${clipped.slice(-(MAX_MESSAGE - 305))}` : clipped;
}

export function sipError(code: string, message: string): TonewallError {
  return new TonewallError(code, clipQuoted(message));
}
