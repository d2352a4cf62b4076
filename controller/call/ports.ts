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

/** A SIP INFO received on a call's dialog (RFC 6086); `callId` is the appliance's call id. */
export interface InfoRequest {
  callId: string;
  contentType: string;
  body: Buffer;
}

/** The answer to an INFO: final status (200–699), optional reason phrase and body. */
export interface InfoReply {
  status: number;
  reason?: string;
  contentType?: string;
  body?: Buffer;
}

/** The Q.850 cause that goes in the Reason header (RFC 3326) of our BYE/CANCEL. */
export interface ReleaseReason {
  cause: number;
  text: string;
}

/** An INFO as the SIP leg passes it up (Info-Package when the sender named one, RFC 6086 §7.2). */
export interface LegInfo {
  contentType: string;
  body: Buffer;
  infoPackage: string | undefined;
}

export interface SipLegEvents {
  progress: [status: number, reason: string];
  /** A 18x with SDP: the far end's answer for early media. */
  'early-media': [sdpAnswer: string];
  answered: [sdpAnswer: string];
  /** `q850`: from a Reason header on the final response (RFC 3326), when present. */
  failed: [status: number, reason: string, q850?: number];
  ended: [by: 'remote' | 'local', reason: string, q850?: number];
  /** The far end changed the session with a re-INVITE/UPDATE offer we answered. */
  'remote-offer': [sdpOffer: string, sdpAnswer: string];
}

export interface SipLeg extends TypedEmitter<SipLegEvents> {
  readonly sipCallId: string;
  cancel(reason?: ReleaseReason): void;
  hangup(reason?: ReleaseReason): Promise<void>;
  /** INFO received on the dialog. */
  onInfo(handler: (info: LegInfo) => InfoReply | Promise<InfoReply>): void;
  /** Offers in re-INVITE/UPDATE from the far end: return our SDP answer, throw to reject (488). */
  onOffer(handler: (sdpOffer: string) => string): void;
  /** INFO on the dialog; resolves with the final status, rejects when there is no dialog. */
  sendInfo(contentType: string, body: Buffer): Promise<number>;
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
  /**
   * A tone we generate toward the PSTN side while the far end gives no audio: `ringback` after a
   * 180 without SDP (local ringback), null to stop. Optional until the media leg implements it.
   */
  setLocalTone?(kind: 'ringback' | null): void;
  /**
   * Answers an SDP offer from the SIP side: the INVITE of a SIP → PSTN call, or a re-INVITE/UPDATE
   * (hold: `a=sendonly`/`inactive` → stop sending, keep receiving; resume; codec change). Returns
   * our SDP answer and (re)starts the media toward the offer; throws a clear error when nothing
   * usable was offered. Optional until the media leg implements it: without it such offers get 488.
   */
  answerOffer?(sdpOffer: string): { sdp: string; codec: string };
}

export interface MediaFactory {
  open(options: { callId: string; cardLaw: CompandingLaw }): Promise<MediaLeg>;
}

export interface SipInboundLegEvents {
  ended: [by: 'remote' | 'local', reason: string, q850?: number];
  'remote-offer': [sdpOffer: string, sdpAnswer: string];
}

/** An INVITE from the SIP side (SIP → PSTN), as the real IncomingCall offers it. */
export interface SipInboundLeg extends TypedEmitter<SipInboundLegEvents> {
  readonly sipCallId: string;
  /** `terminated` once CANCELled, rejected or hung up. */
  readonly state: string;
  readonly requestUri: string;
  readonly sdpOffer: string;
  readonly caller: { uri: string; displayName: string | undefined };
  /** 180 Ringing (no SDP). */
  ring(): void;
  /** 183 Session Progress with our SDP answer: early media (the PSTN's in-band progress). */
  progress(sdpAnswer: string): void;
  /** 200 OK with our SDP answer. */
  answer(sdpAnswer: string): void;
  /** A final failure response with the Q.850 cause in a Reason header. */
  reject(status: number, reason: string | undefined, q850: ReleaseReason): void;
  hangup(reason?: ReleaseReason): Promise<void>;
  onInfo(handler: (info: LegInfo) => InfoReply | Promise<InfoReply>): void;
  onOffer(handler: (sdpOffer: string) => string): void;
  sendInfo(contentType: string, body: Buffer): Promise<number>;
}
