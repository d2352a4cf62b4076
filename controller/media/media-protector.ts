/**
 * The seam between an RTP session and SRTP (RFC 3711): when a leg negotiated SDES keys, the session
 * protects every RTP/RTCP datagram it sends and unprotects every one it receives through this
 * interface (controller/media/srtp-protector.ts implements it with werift-rtp). Unprotect throws
 * on an authentication failure or a replay; the session drops and counts such datagrams.
 */
export interface MediaProtector {
  protectRtp(packet: Buffer): Buffer;
  unprotectRtp(packet: Buffer): Buffer;
  protectRtcp(compound: Buffer): Buffer;
  unprotectRtcp(compound: Buffer): Buffer;
}
