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
 * datagram that arrives is rejected (and counted) instead of being taken for plain RTP, decoded,
 * played or latched onto. Nothing is sent before the answer (the session has no remote address
 * until then), so protecting is an error.
 */
export class AwaitingKeysProtector implements MediaProtector {
  protectRtp(): Buffer {
    throw new TonewallError('ESRTP', 'SRTP keys not negotiated yet: no answer to the SRTP offer');
  }
  unprotectRtp(): Buffer {
    throw new TonewallError('ESRTP', 'SRTP packet before the answer: keys not negotiated yet');
  }
  protectRtcp(): Buffer {
    throw new TonewallError('ESRTP', 'SRTCP keys not negotiated yet: no answer to the SRTP offer');
  }
  unprotectRtcp(): Buffer {
    throw new TonewallError('ESRTP', 'SRTCP packet before the answer: keys not negotiated yet');
  }
}
