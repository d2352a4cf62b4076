/**
 * What the call manager needs from the SIP and media layers, as small interfaces (STYLE.md: the
 * I/O behind interfaces passed in). The real SipUserAgent and media objects satisfy them
 * structurally; unit tests pass fakes.
 */
import type { TypedEmitter } from '../../hw/base/typed-emitter';
import type { CompandingLaw } from '../../hw/card/types';

export interface InviteRequest {
  requestUri: string;
  fromUser: string;
  fromDisplayName?: string;
  headers?: Record<string, string>;
  sdpOffer: string;
}

export interface SipLegEvents {
  progress: [status: number, reason: string];
  answered: [sdpAnswer: string];
  failed: [status: number, reason: string];
  ended: [by: 'remote' | 'local', reason: string];
}

export interface SipLeg extends TypedEmitter<SipLegEvents> {
  readonly sipCallId: string;
  cancel(): void;
  hangup(): Promise<void>;
}

export interface SipDialer {
  invite(req: InviteRequest): SipLeg;
}

export interface MediaLegStats {
  packetsSent: number;
  packetsReceived: number;
  [key: string]: number;
}

/** One call's media: an RTP session plus the per-channel pipeline (DESIGN.md §5). */
export interface MediaLeg {
  readonly sdpOffer: string;
  /** Applies the far end's SDP answer; throws a clear error when nothing usable was answered. */
  applyAnswer(sdpAnswer: string): { codec: string };
  /** 10 ms of card PCM (card law) in; called at the card's clock. */
  fromCard(pcm: Buffer): void;
  /** 10 ms of card PCM (card law) out, pulled right after fromCard. */
  toCard(): Buffer;
  stats(): MediaLegStats;
  close(): void;
}

export interface MediaFactory {
  open(options: { callId: string; cardLaw: CompandingLaw }): Promise<MediaLeg>;
}
