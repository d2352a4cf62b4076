/**
 * Fakes for payments over SIP INFO (controller/app/pay-sip-info.ts):
 * - `FakeInfoCalls`, the call manager's INFO side: strict like the real one (one handler, the last set
 *   wins; sendInfo rejects with a TonewallError for a call without a dialog), records every INFO sent, and can hold
 *   the answers to check that one INFO per call is in flight at a time.
 * - `ManagerPayments`, the payments service's `execute`/`onUpdate` over a real PaymentManager with
 *   the fake uplink and connector (the same snapshots, JSON-safe, as `pay/{sessionId}`).
 */
import { TonewallError } from '../../hw/base/errors';
import type { PayInfoCalls, PayInfoPayments, PayInfoReply, PayInfoRequest } from '../../controller/app/pay-sip-info';
import type { PaySnapshotBody } from '../../controller/fleet/topics';
import { executePayCommand, type PayCommand, type PayReply } from '../../controller/secure/pay-commands';
import type { PaymentManager } from '../../controller/secure/payment-manager';
import type { SecureUplink } from '../../controller/secure/payment-session';
import type { PaymentSnapshot } from '../../controller/secure/payment-types';

export interface SentInfo {
  callId: string;
  contentType: string;
  body: Buffer;
}

export class FakeInfoCalls implements PayInfoCalls {
  readonly live = new Set<string>();
  readonly sent: SentInfo[] = [];
  /** When true, each sendInfo waits for `answer()`. */
  hold = false;
  /** Largest number of INFOs in flight on one call at once. */
  maxInFlight = 0;
  private handler: ((req: PayInfoRequest) => PayInfoReply | Promise<PayInfoReply>) | undefined;
  private readonly waiting: (() => void)[] = [];
  private readonly inFlight = new Map<string, number>();

  constructor(...callIds: string[]) {
    for (const id of callIds) this.live.add(id);
  }

  /** Like CallManager.onInfo: one handler, the last set wins. */
  onInfo(handler: (req: PayInfoRequest) => PayInfoReply | Promise<PayInfoReply>): void {
    this.handler = handler;
  }

  /** An INFO arriving on `callId`'s dialog. */
  async receive(callId: string, contentType: string, body: string | Buffer): Promise<PayInfoReply> {
    if (!this.handler) throw new Error('no INFO handler registered');
    return this.handler({ callId, contentType, body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body });
  }

  sendInfo(callId: string, contentType: string, body: Buffer): Promise<number> {
    if (!this.live.has(callId)) return Promise.reject(new TonewallError('ECALL_UNKNOWN', `call ${callId} has no dialog`));
    this.sent.push({ callId, contentType, body });
    const n = (this.inFlight.get(callId) ?? 0) + 1;
    this.inFlight.set(callId, n);
    this.maxInFlight = Math.max(this.maxInFlight, n);
    const done = (): number => {
      this.inFlight.set(callId, (this.inFlight.get(callId) ?? 1) - 1);
      return 200;
    };
    if (!this.hold) return Promise.resolve(done());
    return new Promise((resolve) => this.waiting.push(() => resolve(done())));
  }

  /** Answers the oldest held INFO with 200. */
  answer(): boolean {
    const next = this.waiting.shift();
    next?.();
    return next !== undefined;
  }

  /** Bodies sent on `callId`, parsed. */
  snapshots(callId: string): PaySnapshotBody[] {
    return this.sent.filter((s) => s.callId === callId).map((s) => JSON.parse(s.body.toString('utf8')) as PaySnapshotBody);
  }
}

export class ManagerPayments implements PayInfoPayments {
  private readonly listeners: ((s: PaySnapshotBody, final: boolean) => void)[] = [];

  constructor(
    private readonly manager: PaymentManager,
    private readonly uplinkOf: (callId: string) => SecureUplink | undefined,
  ) {
    const body = (s: PaymentSnapshot) => JSON.parse(JSON.stringify(s)) as PaySnapshotBody;
    manager.on('progress', (s) => this.listeners.forEach((l) => l(body(s), false)));
    manager.on('ended', (s) => this.listeners.forEach((l) => l(body(s), true)));
  }

  execute(cmd: PayCommand, fromCallId?: string): PayReply {
    return executePayCommand(this.manager, cmd, this.uplinkOf, fromCallId);
  }

  onUpdate(listener: (s: PaySnapshotBody, final: boolean) => void): void {
    this.listeners.push(listener);
  }
}
