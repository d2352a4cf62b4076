/**
 * A PstnCall that never got a channel: what a `PstnDialer.placeCall` returns when the request was well
 * formed but cannot be carried (no idle channel, no D channel, no free port). The contract of
 * PstnDialer (types.ts) is "return at once, report by events", so the release is emitted in a
 * microtask after `placeCall` returns: attach listeners synchronously, as the call manager does.
 */
import { TypedEmitter } from '../../hw/base/typed-emitter';
import type { PstnCall, PstnCallEvents, PstnCallInfo } from './types';

export class FailedCall extends TypedEmitter<PstnCallEvents> implements PstnCall {
  readonly state = 'released';

  constructor(
    readonly info: PstnCallInfo,
    /** Q.850 cause: 34 no circuit/channel available, 41 temporary failure, … */
    readonly q850: number,
    readonly reason: string,
  ) {
    super();
    queueMicrotask(() => this.emit('released', { by: 'local', q850, reason }));
  }

  answer(): Promise<void> {
    return Promise.resolve();
  }

  hangup(): Promise<void> {
    return Promise.resolve();
  }
}

/** The info of a call that has no channel (channel -1). */
export function unplacedInfo(trunk: string, calledNumber: string, callingNumber = '', callingName = ''): PstnCallInfo {
  return { trunk, port: 0, channel: -1, callerNumber: callingNumber, callerName: callingName, calledNumber };
}
