/**
 * SRTP/SRTCP (RFC 3711) for one leg with SDES keys (RFC 4568), through werift-rtp's SrtpSession and
 * SrtcpSession (AES-128 counter mode + HMAC-SHA1 from node:crypto; nothing hand-rolled here).
 *
 * Suite: AES_CM_128_HMAC_SHA1_80 (RFC 4568 §6.2.1: 80-bit tags on SRTP and SRTCP). werift-rtp
 * 0.8.9 fixes the SRTP tag at 80 bits, so AES_CM_128_HMAC_SHA1_32 is not offered or accepted.
 *
 * What werift does not do and this class adds: the replay check of RFC 3711 §3.3.2 (a 64-packet
 * sliding window on the packet index, per SSRC, updated only after authentication), and errors
 * that never carry key material. Unprotect throws `TonewallError('ESRTP', …)`; RtpSession counts
 * and drops.
 */
import { SrtcpSession, SrtpSession, ProtectionProfileAes128CmHmacSha1_80, RtpHeader } from 'werift-rtp';
import { TonewallError } from '../../hw/base/errors';
import type { MediaProtector } from './media-protector';
import { seqDelta } from './rtp-packet';

export const SDES_KEY_BYTES = 16;
export const SDES_SALT_BYTES = 14;

/** The 30-byte master key ‖ salt of an SDES `inline:` parameter. */
export interface SdesKey {
  masterKey: Buffer;
  masterSalt: Buffer;
}

export function splitKeySalt(keySalt: Buffer): SdesKey {
  if (keySalt.length !== SDES_KEY_BYTES + SDES_SALT_BYTES) {
    throw new TonewallError('ESRTP', `SDES key||salt is ${keySalt.length} bytes, expected ${SDES_KEY_BYTES + SDES_SALT_BYTES}`);
  }
  return { masterKey: Buffer.from(keySalt.subarray(0, SDES_KEY_BYTES)), masterSalt: Buffer.from(keySalt.subarray(SDES_KEY_BYTES)) };
}

const REPLAY_WINDOW = 64;

/** RFC 3711 §3.3.2 replay list for one SSRC: the highest index and a bitmask of the 64 before it. */
class ReplayWindow {
  private highest: number | undefined;
  private mask = 0n;

  /** The index this sequence number would have (RFC 3711 §3.3.1 estimate), without committing. */
  check(seq: number): { index: number; ok: boolean } {
    if (this.highest === undefined) return { index: seq, ok: true };
    const hiSeq = this.highest & 0xffff;
    const d = seqDelta(seq, hiSeq);
    const index = this.highest + d;
    if (d > 0) return { index, ok: true };
    if (-d >= REPLAY_WINDOW) return { index, ok: false };
    return { index, ok: ((this.mask >> BigInt(-d)) & 1n) === 0n };
  }

  commit(index: number): void {
    if (this.highest === undefined) {
      this.highest = index;
      this.mask = 1n;
      return;
    }
    const d = index - this.highest;
    if (d > 0) {
      this.mask = d >= REPLAY_WINDOW ? 1n : ((this.mask << BigInt(d)) | 1n) & ((1n << BigInt(REPLAY_WINDOW)) - 1n);
      this.highest = index;
    } else {
      this.mask |= 1n << BigInt(-d);
    }
  }
}

export class SrtpProtector implements MediaProtector {
  private readonly srtp: SrtpSession;
  private readonly srtcp: SrtcpSession;
  private readonly replay = new Map<number, ReplayWindow>();

  constructor(local: SdesKey, remote: SdesKey) {
    const keys = { localMasterKey: local.masterKey, localMasterSalt: local.masterSalt, remoteMasterKey: remote.masterKey, remoteMasterSalt: remote.masterSalt };
    this.srtp = new SrtpSession({ keys, profile: ProtectionProfileAes128CmHmacSha1_80 });
    this.srtcp = new SrtcpSession({ keys, profile: ProtectionProfileAes128CmHmacSha1_80 });
  }

  protectRtp(packet: Buffer): Buffer {
    const header = RtpHeader.deSerialize(packet);
    return this.srtp.encrypt(packet.subarray(header.payloadOffset), header);
  }

  unprotectRtp(packet: Buffer): Buffer {
    if (packet.length < 12 + 10) throw new TonewallError('ESRTP', `SRTP packet of ${packet.length} bytes is shorter than header + 10-byte tag`);
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    let win = this.replay.get(ssrc);
    const pre = win?.check(seq);
    if (pre && !pre.ok) throw new TonewallError('ESRTP', `SRTP replay: sequence ${seq} of SSRC ${ssrc} already seen or older than the 64-packet window`);
    let plain: Buffer;
    try {
      plain = this.srtp.decrypt(packet);
    } catch {
      throw new TonewallError('ESRTP', `SRTP authentication failed for sequence ${seq} of SSRC ${ssrc}`);
    }
    if (!win) {
      win = new ReplayWindow();
      this.replay.set(ssrc, win);
    }
    win.commit(pre?.index ?? seq);
    return plain;
  }

  protectRtcp(compound: Buffer): Buffer {
    return this.srtcp.encrypt(compound);
  }

  unprotectRtcp(compound: Buffer): Buffer {
    try {
      return this.srtcp.decrypt(compound);
    } catch {
      throw new TonewallError('ESRTP', `SRTCP authentication failed for a ${compound.length}-byte datagram`);
    }
  }
}
