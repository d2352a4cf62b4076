/**
 * Fakes for payment-session tests: an uplink that records secure-mode calls (strict: it rejects
 * entering twice or leaving when not secure, like UplinkDsp), and a connector whose seal/send
 * results the test scripts and whose received digits it checks without ever making a string.
 */
import { TonewallError } from '../../hw/base/errors';
import type { CapturedDigits } from '../../controller/secure/captured-digits';
import type { SecureUplink } from '../../controller/secure/payment-session';
import type { PaymentOrder, PaymentSecrets, ProcessorConnector, ProcessorResult, SealedPayment } from '../../controller/secure/processor-types';

export class FakeUplink implements SecureUplink {
  secure = false;
  faulted = false;
  maskedTones = 0;
  enters = 0;
  exits = 0;
  blanking: boolean[] = [];

  enterSecure(): void {
    if (this.secure) throw new TonewallError('EDSP_MODE', 'already secure');
    this.secure = true;
    this.enters++;
  }
  exitSecure(): void {
    if (!this.secure) throw new TonewallError('EDSP_MODE', 'not secure');
    this.secure = false;
    this.faulted = false;
    this.exits++;
  }
  setBlanking(on: boolean): void {
    this.blanking.push(on);
  }
}

/** Compares captured digits with expected text using only the type's byte-level API. */
export function digitsEqual(d: CapturedDigits | undefined, expected: string): boolean {
  if (!d || d.length !== expected.length) return false;
  const b = Buffer.alloc(expected.length);
  d.writeAscii(b, 0);
  const same = b.equals(Buffer.from(expected, 'latin1'));
  b.fill(0);
  return same;
}

export class FakeConnector implements ProcessorConnector {
  sealed: { lengths: Record<string, number>; matched: boolean }[] = [];
  orders: PaymentOrder[] = [];
  expect: { pan?: string; expiry?: string; cvv?: string } = {};
  sealError: Error | undefined;
  result: ProcessorResult = { outcome: 'approved', reference: 'ref-1' };
  /** When set, send waits until `release()` is called. */
  hold = false;
  private pending: (() => void) | undefined;
  /** The secrets objects received, to check they were wiped after sealing. */
  received: PaymentSecrets[] = [];

  seal(secrets: PaymentSecrets): Promise<SealedPayment> {
    this.received.push(secrets);
    if (this.sealError) return Promise.reject(this.sealError);
    const matched =
      (this.expect.pan === undefined || digitsEqual(secrets.cardNumber, this.expect.pan)) &&
      (this.expect.expiry === undefined || digitsEqual(secrets.expiry, this.expect.expiry)) &&
      (this.expect.cvv === undefined || digitsEqual(secrets.securityCode, this.expect.cvv));
    this.sealed.push({
      lengths: { card: secrets.cardNumber?.length ?? 0, expiry: secrets.expiry?.length ?? 0, cvv: secrets.securityCode?.length ?? 0, postcode: secrets.postcode?.length ?? 0 },
      matched,
    });
    return Promise.resolve({ jwe: 'sealed' });
  }

  send(_sealed: SealedPayment, order: PaymentOrder): Promise<ProcessorResult> {
    this.orders.push(order);
    if (!this.hold) return Promise.resolve(this.result);
    return new Promise((resolve) => {
      this.pending = () => resolve(this.result);
    });
  }

  release(): void {
    this.pending?.();
    this.pending = undefined;
  }
}

/** Lets promise continuations (seal → send → end) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
