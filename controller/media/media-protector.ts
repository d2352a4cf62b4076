/**
 * The seam between an RTP session and SRTP (RFC 3711): when a leg negotiated SDES keys, the session
 * protects every RTP/RTCP datagram it sends and unprotects every one it receives through this
 * interface (controller/media/srtp-protector.ts implements it with werift-rtp). Unprotect throws
 * on an authentication failure or a replay; the session drops and counts such datagrams.
 */
import { TonewallError } from '../../hw/base/errors';

export interface MediaProtector {
  protectRtp(packet: Buffer): Buffer;
  unprotectRtp(packet: Buffer): Buffer;
  protectRtcp(compound: Buffer): Buffer;
  unprotectRtcp(compound: Buffer): Buffer;
}

/**
 * Stands in while an SRTP offer waits for its answer: nothing can be authenticated yet, so every
 * datagram that arrives is dropped (counted in `srtpBeforeAnswer`: the answerer may start sending
 * as soon as it answers, RFC 4568 §7.1.2, so a few such packets are normal) instead of being taken for plain RTP, decoded,
 * played or latched onto. Nothing is sent before the answer (the session has no remote address
 * until then), so protecting is an error.
 */
/** Error code of a datagram dropped because the keys are not known yet (not an authentication failure). */
export const ESRTP_NO_KEYS = 'ESRTP_NO_KEYS';

export class AwaitingKeysProtector implements MediaProtector {
  protectRtp(): Buffer {
    throw new TonewallError(ESRTP_NO_KEYS, 'SRTP keys not negotiated yet: no answer to the SRTP offer');
  }
  unprotectRtp(): Buffer {
    throw new TonewallError(ESRTP_NO_KEYS, 'SRTP packet before the answer: keys not negotiated yet');
  }
  protectRtcp(): Buffer {
    throw new TonewallError(ESRTP_NO_KEYS, 'SRTCP keys not negotiated yet: no answer to the SRTP offer');
  }
  unprotectRtcp(): Buffer {
    throw new TonewallError(ESRTP_NO_KEYS, 'SRTCP packet before the answer: keys not negotiated yet');
  }
}
