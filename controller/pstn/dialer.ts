/**
 * The trunks aggregate for outward calls: one PstnDialer over the PRI, CAS and analog trunks the
 * appliance runs. `request.trunk` picks the trunk by its prefix (`span/N` → PRI, `cas/N` → CAS,
 * `port/N` → FXO); without it the first trunk (in the order given) that has a free channel takes the
 * call. Nothing free anywhere: a call released with 34 (no circuit/channel available).
 */
import { TonewallError } from '../../hw/base/errors';
import { FailedCall, unplacedInfo } from './failed-call';
import { checkOutboundRequest, type TrunkName } from './outbound-request';
import type { OutboundCallRequest, PstnCall, PstnDialer } from './types';

export interface DialerTrunk {
  /** The trunk-name prefix this trunk serves. */
  kind: TrunkName['kind'];
  dialer: PstnDialer;
  /** Whether it could place a call now (a free channel with signaling up). */
  available(): boolean;
}

export class TrunkDialer implements PstnDialer {
  constructor(private readonly trunks: readonly DialerTrunk[]) {}

  placeCall(request: OutboundCallRequest): PstnCall {
    const name = checkOutboundRequest(request);
    if (name) {
      const t = this.trunks.find((x) => x.kind === name.kind);
      if (!t) throw new TonewallError('EPSTN_REQUEST', `trunk ${request.trunk ?? ''}: this appliance runs no ${name.kind} trunk (it runs: ${this.trunks.map((x) => x.kind).join(', ') || 'none'})`);
      return t.dialer.placeCall(request);
    }
    const t = this.trunks.find((x) => x.available());
    if (t) return t.dialer.placeCall(request);
    return new FailedCall(unplacedInfo('any', request.calledNumber, request.callingNumber, request.callingName), 34, 'no free channel on any trunk');
  }
}
