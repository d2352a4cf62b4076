/**
 * What the PSTN side offers the call manager, whatever the trunk (analog FXO now; ISDN PRI and CAS
 * later). controller/pstn knows nothing of SIP (DESIGN.md §3): it turns line signaling into
 * call-shaped events and executes answer/hang-up.
 */
import type { TypedEmitter } from '../../hw/base/typed-emitter';

/** Why a PSTN leg ended, with the ITU-T Q.850 cause value the call manager maps to SIP (RFC 3398). */
export interface PstnRelease {
  by: 'pstn' | 'local';
  /** Q.850 cause value: 16 normal clearing, 19 no answer, 41 temporary failure, 127 interworking. */
  q850: number;
  reason: string;
}

export interface PstnCallInfo {
  /** Trunk name for reports: `port/1`, later `span/1`. */
  trunk: string;
  port: number;
  /** TDM channel carrying the call's audio on the card. */
  channel: number;
  callerNumber: string;
  callerName: string;
  calledNumber: string;
}

export interface PstnCallEvents {
  /**
   * Outward calls only: the network reports progress (Q.931 CALL PROCEEDING / ALERTING / PROGRESS,
   * CAS wink, analog dialing done). `inbandAudio`: ringback or announcements flow on the channel now
   * (progress indicator #1/#8), so the SIP side may open early media.
   */
  progress: [kind: 'proceeding' | 'alerting' | 'progress', inbandAudio: boolean];
  /** The line is off-hook and audio flows. */
  answered: [];
  /** The PSTN leg is over (caller hung up, abandoned while ringing, line fault, or our hang-up). */
  released: [release: PstnRelease];
}

/** One inbound PSTN call leg. */
export interface PstnCall extends TypedEmitter<PstnCallEvents> {
  readonly info: PstnCallInfo;
  readonly state: string;
  /** Take the line off-hook. Resolves once the card confirms. */
  answer(): Promise<void>;
  /** Release the line (on-hook). Safe to call in any state; idempotent. */
  hangup(q850: number, reason: string): Promise<void>;
}

/** An outward call toward the PSTN (SIP → PSTN). */
export interface OutboundCallRequest {
  /** Digits to dial / called party number after number manipulation. */
  calledNumber: string;
  callingNumber?: string;
  callingName?: string;
  /** Trunk to use (`port/N`, `span/N`); omitted: the trunk picks a free channel. */
  trunk?: string;
}

/**
 * What a trunk offers for outward calls. `placeCall` returns at once; the call then emits
 * `progress`, `answered` when the far end answers, or `released` (busy, no channel: Q.850 34,
 * unallocated number: 1, …). Throws a TonewallError only for a malformed request.
 */
export interface PstnDialer {
  placeCall(request: OutboundCallRequest): PstnCall;
}

export interface PstnTrunkEvents {
  incoming: [call: PstnCall];
  warning: [message: string];
}
