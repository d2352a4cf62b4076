/**
 * SRTP/SRTCP (RFC 3711) for one leg with SDES keys (RFC 4568), through werift-rtp's SrtpSession and
 * SrtcpSession (AES-128 counter mode + HMAC-SHA1 from node:crypto; nothing hand-rolled here).
 *
 * Suites (RFC 4568 §6.2.1): AES_CM_128_HMAC_SHA1_80 (80-bit tags on SRTP and SRTCP) and
 * AES_CM_128_HMAC_SHA1_32 (32-bit SRTP tag, SRTCP still 80). werift-rtp 0.8.9 only makes 80-bit
 * tags; the tag is the leftmost bits of one HMAC-SHA1 (RFC 3711 §4.2), so for _32 we send werift's
 * packet with its tag cut to 4 bytes, and on receipt check the 4-byte tag with the session
 * authentication key (derived here by the RFC 3711 §4.3.1 AES-CM PRF, node:crypto) and the
 * rollover counter from our index estimate, then hand werift the packet with the full tag.
 *
 * What werift does not do and this class adds: the replay check of RFC 3711 §3.3.2 (a 64-packet
 * sliding window on the packet index, per SSRC, updated only after authentication), and errors
 * that never carry key material. Unprotect throws `TonewallError('ESRTP', …)`; RtpSession counts
 * and drops.
 */
import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
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
const TAG_80_BYTES = 10;
const TAG_32_BYTES = 4;
/** RFC 3711 §4.3.1 label of the SRTP authentication key. */
const LABEL_SRTP_AUTH = 0x01;
const SRTP_AUTH_KEY_BYTES = 20;

export type SdesSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

/**
 * RFC 3711 §4.3.1 key derivation with key_derivation_rate 0 (r = 0): x = (label ‖ 0^48) XOR
 * master salt, the session key is the AES-CM keystream under the master key from IV = x · 2^16.
 */
export function deriveSessionKey(master: SdesKey, label: number, lengthBytes: number): Buffer {
  const iv = Buffer.alloc(16);
  master.masterSalt.copy(iv, 0, 0, SDES_SALT_BYTES);
  iv[7] = (iv[7] ?? 0) ^ label;
  const cipher = createCipheriv('aes-128-ctr', master.masterKey, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(lengthBytes)), cipher.final()]);
}

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

  private readonly suite: SdesSuite;
  /** Session authentication key of the far end's SRTP (only for the 32-bit suite). */
  private readonly remoteAuthKey: Buffer | undefined;

  constructor(local: SdesKey, remote: SdesKey, suite: SdesSuite = 'AES_CM_128_HMAC_SHA1_80') {
    this.suite = suite;
    this.remoteAuthKey = suite === 'AES_CM_128_HMAC_SHA1_32' ? deriveSessionKey(remote, LABEL_SRTP_AUTH, SRTP_AUTH_KEY_BYTES) : undefined;
    const keys = { localMasterKey: local.masterKey, localMasterSalt: local.masterSalt, remoteMasterKey: remote.masterKey, remoteMasterSalt: remote.masterSalt };
    this.srtp = new SrtpSession({ keys, profile: ProtectionProfileAes128CmHmacSha1_80 });
    this.srtcp = new SrtcpSession({ keys, profile: ProtectionProfileAes128CmHmacSha1_80 });
  }

  protectRtp(packet: Buffer): Buffer {
    const header = RtpHeader.deSerialize(packet);
    const sealed = this.srtp.encrypt(packet.subarray(header.payloadOffset), header);
    return this.remoteAuthKey ? sealed.subarray(0, sealed.length - (TAG_80_BYTES - TAG_32_BYTES)) : sealed;
  }

  unprotectRtp(packet: Buffer): Buffer {
    const tagBytes = this.remoteAuthKey ? TAG_32_BYTES : TAG_80_BYTES;
    if (packet.length < 12 + tagBytes) throw new TonewallError('ESRTP', `SRTP packet of ${packet.length} bytes is shorter than header + ${tagBytes}-byte tag (${this.suite})`);
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    let win = this.replay.get(ssrc);
    const pre = win?.check(seq);
    if (pre && !pre.ok) throw new TonewallError('ESRTP', `SRTP replay: sequence ${seq} of SSRC ${ssrc} already seen or older than the 64-packet window`);
    let plain: Buffer;
    try {
      plain = this.srtp.decrypt(this.remoteAuthKey ? this.widenTag(packet, this.remoteAuthKey, pre?.index ?? seq) : packet);
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

  /**
   * Checks a 32-bit tag (RFC 3711 §4.2: HMAC-SHA1 over the authenticated portion ‖ ROC, leftmost
   * 32 bits) and returns the packet with the leftmost 80 bits of the same HMAC, the form werift
   * checks and decrypts. Throws when the 32-bit tag is wrong.
   */
  private widenTag(packet: Buffer, authKey: Buffer, index: number): Buffer {
    const portion = packet.subarray(0, packet.length - TAG_32_BYTES);
    const roc = Buffer.alloc(4);
    roc.writeUInt32BE(Math.floor(index / 0x10000) >>> 0);
    const mac = createHmac('sha1', authKey).update(portion).update(roc).digest();
    if (!timingSafeEqual(mac.subarray(0, TAG_32_BYTES), packet.subarray(packet.length - TAG_32_BYTES))) throw new Error('32-bit tag mismatch');
    return Buffer.concat([portion, mac.subarray(0, TAG_80_BYTES)]);
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
