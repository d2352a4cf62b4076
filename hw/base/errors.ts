/**
 * The one error type of tonewall: a stable machine-readable `code` plus a message that names the bad
 * value and what was expected ("frame length 70000 exceeds 4096", never "invalid frame").
 * Messages must never carry card data: captured digits have their own type with no string form.
 */
export class TonewallError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'TonewallError';
    this.code = code;
    this.details = details;
  }
}

/** Narrow an unknown thrown value to a message without ever calling a custom toString. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  return Object.prototype.toString.call(err);
}

/** The error's code when it has one (TonewallError, Node system errors), else 'EUNKNOWN'. */
export function errorCode(err: unknown): string {
  if (err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return 'EUNKNOWN';
}
