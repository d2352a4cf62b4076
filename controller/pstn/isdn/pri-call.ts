/**
 * A Q.931 call seen as a PstnCall (controller/pstn/types.ts): what the call manager drives.
 * answer() sends CONNECT and resolves when the call is active; hangup() clears with a Q.850 cause
 * and resolves once the call reference is free.
 */
import { TonewallError } from '../../../hw/base/errors';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { PstnCall, PstnCallEvents, PstnCallInfo } from '../types';
import type { Q931Call } from './q931-call';

/** Q.850 names of the causes seen on basic calls, for release reasons in reports and logs. */
const CAUSE_NAMES: Readonly<Record<number, string>> = {
  1: 'unallocated number',
  6: 'channel unacceptable',
  16: 'normal call clearing',
  17: 'user busy',
  18: 'no user responding',
  19: 'no answer from user',
  21: 'call rejected',
  27: 'destination out of order',
  31: 'normal, unspecified',
  34: 'no circuit/channel available',
  41: 'temporary failure',
  44: 'requested circuit/channel not available',
  65: 'bearer capability not implemented',
  81: 'invalid call reference value',
  96: 'mandatory information element is missing',
  100: 'invalid information element contents',
  101: 'message not compatible with call state',
  102: 'recovery on timer expiry',
};

export function causeReason(q850: number): string {
  return `${CAUSE_NAMES[q850] ?? 'cause'} (Q.850 ${q850})`;
}

export class PriCall extends TypedEmitter<PstnCallEvents> implements PstnCall {
  private releasedWith: { cause: number; by: 'peer' | 'local' } | undefined;

  constructor(
    readonly info: PstnCallInfo,
    /** The Q.931 call underneath, for finer events (proceeding, alerting, progress). */
    readonly q931: Q931Call,
  ) {
    super();
    q931.on('connected', () => this.emit('answered'));
    // Outward calls: CALL PROCEEDING / ALERTING / PROGRESS as PstnCall progress. Progress
    // description 1 (not end-to-end ISDN) and 8 (in-band information) mean audio flows (Q.931 §4.5.23).
    q931.on('proceeding', () => this.emit('progress', 'proceeding', false));
    q931.on('alerting', () => this.emit('progress', 'alerting', false));
    q931.on('progress', (description) => this.emit('progress', 'progress', description === 1 || description === 8));
    q931.on('released', (cause, by) => {
      this.releasedWith = { cause, by };
      this.emit('released', { by: by === 'peer' ? 'pstn' : 'local', q850: cause, reason: causeReason(cause) });
    });
  }

  get state(): string {
    return this.q931.state;
  }

  /** Incoming call: CONNECT. Resolves when active (user side: on CONNECT ACKNOWLEDGE). */
  answer(): Promise<void> {
    if (this.q931.state === 'active') return Promise.resolve();
    if (this.releasedWith) return Promise.reject(new TonewallError('EPRI_RELEASED', `call on channel ${this.info.channel} was released (cause ${this.releasedWith.cause}) before answer`));
    return new Promise((resolve, reject) => {
      const onConnected = (): void => {
        this.q931.off('released', onReleased);
        resolve();
      };
      const onReleased = (cause: number): void => {
        this.q931.off('connected', onConnected);
        reject(new TonewallError('EPRI_RELEASED', `call on channel ${this.info.channel} was released (cause ${cause}) while answering`));
      };
      this.q931.once('connected', onConnected);
      this.q931.once('released', onReleased);
      try {
        this.q931.connect();
      } catch (err) {
        this.q931.off('connected', onConnected);
        this.q931.off('released', onReleased);
        reject(err instanceof Error ? err : new TonewallError('EPRI_STATE', String(err)));
      }
    });
  }

  /** Sends ALERTING for an incoming call not yet alerted (ringback toward the caller). */
  alerting(): void {
    if (this.q931.state === 'in-present' || this.q931.state === 'in-proceeding') this.q931.alerting();
  }

  hangup(q850: number, _reason: string): Promise<void> {
    if (this.releasedWith || this.q931.state === 'null') return Promise.resolve();
    return new Promise((resolve) => {
      this.q931.once('released', () => resolve());
      this.q931.disconnect(q850);
    });
  }
}
