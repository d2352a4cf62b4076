/**
 * SDP offer/answer for one G.711 audio stream (RFC 4566 SDP, RFC 3264 offer/answer, RFC 3551 static
 * payload types 0 = PCMU, 8 = PCMA, RFC 4733 telephone-event), built and parsed with sdp-transform.
 *
 * Offer: `m=audio <port> RTP/AVP <codecs in config order> 101`, rtpmaps, `fmtp:101 0-15`,
 * `a=ptime`, `a=sendrecv`, session-level c= and o= with our address.
 * Answer parsing / answering: the first payload type of the answer's (or offer's) m-line that we
 * support wins (RFC 3264 §6.1 order of preference); no common codec is an error naming what was
 * offered. Static payload types are recognised without rtpmap (RFC 3551 §6).
 *
 * SRTP with SDES (RFC 4568): with `srtp.mode` `offer`/`require` our offer is `RTP/SAVP` with one
 * crypto line per configured suite, in preference order and each with its own key:
 * `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<key||salt, base64>`,
 * `a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:<another key||salt>` (§6.2.1 suites). The answer must
 * echo one offered tag with its suite (§7.1.3), and the key of that line is ours. An offer with SAVP
 * must carry a crypto line of a suite we support (the first one in the offer's order wins, §6.1;
 * MKI and lifetime parameters are refused, a key of the wrong length is refused), and our answer
 * echoes its tag and suite with our own key. `require` refuses plain RTP/AVP; `off` refuses SAVP. Keys come in as Buffers and leave only
 * inside the SDP body; no error message quotes an inline key.
 * RTCP: `a=rtcp-mux` in an offer is accepted and answered (RFC 5761 §5.1.1); `a=rtcp:<port>`
 * (RFC 3605) gives the RTCP port, else RTP + 1.
 */
import * as sdpTransform from 'sdp-transform';
import { TonewallError } from '../../hw/base/errors';

export type RtpCodecName = 'PCMU' | 'PCMA';

export const STATIC_PT: Readonly<Record<RtpCodecName, number>> = { PCMU: 0, PCMA: 8 };
export const DEFAULT_TELEPHONE_EVENT_PT = 101;

export interface LocalMedia {
  address: string;
  /** Our RTP port (even, RFC 3550 §11). */
  port: number;
  /** Codecs in order of preference. */
  codecs: readonly RtpCodecName[];
  ptimeMs: number;
  sessionId?: number;
  sessionVersion?: number;
  telephoneEventPt?: number;
  /**
   * SRTP policy and our 30-byte SDES master key||salt (crypto.randomBytes). `suites` (default: the
   * 80-bit suite only) are offered in order, tag 1, 2, …; line 1 uses `key`, line n > 1
   * `extraKeys[n - 2]` (a suite without its key is not offered). Answers use `key`.
   */
  srtp?: LocalSrtp;
}

export interface LocalSrtp {
  mode: SrtpMode;
  key: Buffer;
  suites?: readonly SrtpSuite[];
  extraKeys?: readonly Buffer[];
}

export type SrtpMode = 'off' | 'offer' | 'require';
/** The SDES crypto suites we support (RFC 4568 §6.2.1); SRTCP keeps an 80-bit tag in both. */
export const SRTP_SUITES = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const;
export type SrtpSuite = (typeof SRTP_SUITES)[number];
export const SRTP_SUITE: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80';

function isSuite(name: string): name is SrtpSuite {
  return (SRTP_SUITES as readonly string[]).includes(name);
}
const SDES_KEY_SALT_BYTES = 30;

export interface NegotiatedSrtp {
  suite: SrtpSuite;
  tag: number;
  localKey: Buffer;
  remoteKey: Buffer;
}

export interface NegotiatedMedia {
  address: string;
  port: number;
  codec: RtpCodecName;
  payloadType: number;
  telephoneEventPt?: number;
  ptimeMs: number;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  /** RTCP port of the far end (a=rtcp, else port + 1); with rtcpMux, the RTP port. */
  rtcpPort?: number;
  rtcpMux?: boolean;
  /** Present when SRTP was negotiated. */
  srtp?: NegotiatedSrtp;
}

function sdpError(message: string): TonewallError {
  return new TonewallError('ESDP', message);
}

function ipVer(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

interface Extras {
  crypto?: Array<{ tag: number; suite: SrtpSuite; key: Buffer }>;
  rtcpMux?: boolean;
  direction?: NegotiatedMedia['direction'];
}

/** RFC 3264 §6.1: the answer's direction for an offered one. */
const ANSWER_DIRECTION: Record<NegotiatedMedia['direction'], NegotiatedMedia['direction']> = { sendrecv: 'sendrecv', sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive' };

function describe(local: LocalMedia, payloads: Array<{ pt: number; codec: string; rate: number; fmtp?: string }>, extras: Extras = {}): string {
  const session: sdpTransform.SessionDescription = {
    version: 0,
    origin: {
      username: 'tonewall',
      sessionId: local.sessionId ?? Math.floor(Date.now() / 1000),
      sessionVersion: local.sessionVersion ?? 1,
      netType: 'IN',
      ipVer: ipVer(local.address),
      address: local.address,
    },
    name: 'tonewall',
    connection: { version: ipVer(local.address), ip: local.address },
    timing: { start: 0, stop: 0 },
    media: [
      {
        type: 'audio',
        port: local.port,
        protocol: extras.crypto ? 'RTP/SAVP' : 'RTP/AVP',
        payloads: payloads.map((p) => p.pt).join(' '),
        ...(extras.crypto ? { crypto: extras.crypto.map((c) => ({ id: c.tag, suite: c.suite, config: `inline:${c.key.toString('base64')}` })) } : {}),
        ...(extras.rtcpMux ? { rtcpMux: 'rtcp-mux' } : {}),
        rtp: payloads.map((p) => ({ payload: p.pt, codec: p.codec, rate: p.rate })),
        fmtp: payloads.filter((p) => p.fmtp !== undefined).map((p) => ({ payload: p.pt, config: p.fmtp ?? '' })),
        ptime: local.ptimeMs,
        direction: extras.direction ?? 'sendrecv',
      },
    ],
  };
  return sdpTransform.write(session);
}

/** Builds our offer (PCMU/PCMA in config order + telephone-event 0-15). */
export function buildOffer(local: LocalMedia): string {
  if (local.codecs.length === 0) throw sdpError('cannot build an SDP offer with no codecs');
  const ev = local.telephoneEventPt ?? DEFAULT_TELEPHONE_EVENT_PT;
  const crypto = local.srtp && local.srtp.mode !== 'off' ? offeredCrypto(local.srtp) : undefined;
  return describe(
    local,
    [...local.codecs.map((c) => ({ pt: STATIC_PT[c], codec: c, rate: 8000 })), { pt: ev, codec: 'telephone-event', rate: 8000, fmtp: '0-15' }],
    crypto ? { crypto } : {},
  );
}

/** Our crypto lines: tag n for the n-th configured suite that has a key. */
function offeredCrypto(srtp: LocalSrtp): Array<{ tag: number; suite: SrtpSuite; key: Buffer }> {
  const suites = srtp.suites && srtp.suites.length > 0 ? srtp.suites : [SRTP_SUITE];
  const lines: Array<{ tag: number; suite: SrtpSuite; key: Buffer }> = [];
  suites.forEach((suite, i) => {
    const key = i === 0 ? srtp.key : srtp.extraKeys?.[i - 1];
    if (key) lines.push({ tag: lines.length + 1, suite, key: checkKey(key) });
  });
  return lines;
}

function checkKey(key: Buffer): Buffer {
  if (key.length !== SDES_KEY_SALT_BYTES) throw sdpError(`SDES master key||salt is ${key.length} bytes, expected ${SDES_KEY_SALT_BYTES}`);
  return key;
}

interface OfferedCrypto {
  tag: number;
  suite: string;
  key: Buffer | undefined;
  problem: string | undefined;
}

/** RFC 4568 §9.1 key parameter: inline:<base64 key||salt>[|lifetime][|MKI:length]. Never echoes the key. */
function readCrypto(c: { id: number; suite: string; config: string }): OfferedCrypto {
  const m = /^inline:([A-Za-z0-9+/=]+)(\|.*)?$/.exec(c.config.trim().split(/\s+/)[0] ?? '');
  if (!m) return { tag: c.id, suite: c.suite, key: undefined, problem: `crypto tag ${c.id}: key parameter is not inline:<base64>` };
  if (m[2] !== undefined) return { tag: c.id, suite: c.suite, key: undefined, problem: `crypto tag ${c.id}: lifetime/MKI parameters are not supported` };
  const key = Buffer.from(m[1] ?? '', 'base64');
  if (key.length !== SDES_KEY_SALT_BYTES) return { tag: c.id, suite: c.suite, key: undefined, problem: `crypto tag ${c.id}: key||salt of ${key.length} bytes, expected ${SDES_KEY_SALT_BYTES}` };
  return { tag: c.id, suite: c.suite, key, problem: undefined };
}

function pickCrypto(audio: OfferedAudio, what: string, accept: readonly SrtpSuite[]): OfferedCrypto & { key: Buffer; suite: SrtpSuite } {
  for (const c of audio.crypto) {
    if (c.key !== undefined && isSuite(c.suite) && accept.includes(c.suite)) return { ...c, key: c.key, suite: c.suite };
  }
  const why = audio.crypto.map((c) => (!isSuite(c.suite) || !accept.includes(c.suite) ? `crypto tag ${c.tag}: suite ${c.suite} not supported` : c.problem)).join('; ') || 'no a=crypto line';
  throw sdpError(`${what} uses RTP/SAVP but has no usable SDES crypto (${why}); we support ${accept.join(', ')}`);
}

interface OfferedAudio {
  address: string;
  port: number;
  /** (pt, encoding name upper-case, clock rate) in m-line order. */
  formats: Array<{ pt: number; name: string; rate: number }>;
  ptimeMs: number | undefined;
  direction: NegotiatedMedia['direction'];
  savp: boolean;
  crypto: OfferedCrypto[];
  rtcpPort: number | undefined;
  rtcpMux: boolean;
}

function readAudio(sdp: string, what: string): OfferedAudio {
  if (!/^v=0/m.test(sdp)) throw sdpError(`${what} is not SDP: it does not start with "v=0" (got "${sdp.slice(0, 20)}")`);
  const parsed = sdpTransform.parse(sdp);
  const m = parsed.media.find((x) => x.type === 'audio');
  if (!m) throw sdpError(`${what} has no m=audio line (media: ${parsed.media.map((x) => x.type).join(', ') || 'none'})`);
  if (!/^RTP\/S?AVP$/i.test(m.protocol)) throw sdpError(`${what} audio protocol "${m.protocol}" is not RTP/AVP or RTP/SAVP`);
  const address = m.connection?.ip ?? parsed.connection?.ip;
  if (address === undefined) throw sdpError(`${what} has no c= line for the audio stream`);
  const pts = String(m.payloads ?? '').trim().split(/\s+/).filter((x) => x !== '').map(Number);
  const formats = pts.map((pt) => {
    const map = m.rtp.find((r) => r.payload === pt);
    if (map) return { pt, name: map.codec.toUpperCase(), rate: map.rate ?? 8000 };
    if (pt === 0) return { pt, name: 'PCMU', rate: 8000 };
    if (pt === 8) return { pt, name: 'PCMA', rate: 8000 };
    return { pt, name: `PT${pt}`, rate: 0 };
  });
  const dir = m.direction ?? parsed.direction ?? 'sendrecv';
  const direction = dir === 'sendonly' || dir === 'recvonly' || dir === 'inactive' ? dir : 'sendrecv';
  const crypto = (m.crypto ?? []).map(readCrypto);
  const rtcpPort = m.rtcp?.port;
  return { address, port: m.port, formats, ptimeMs: m.ptime, direction, savp: /^RTP\/SAVP$/i.test(m.protocol), crypto, rtcpPort, rtcpMux: m.rtcpMux !== undefined };
}

function choose(audio: OfferedAudio, codecs: readonly RtpCodecName[], what: string, ptimeMs: number): NegotiatedMedia {
  if (audio.port === 0) throw sdpError(`${what} rejected the audio stream (port 0)`);
  const hit = audio.formats.find((f) => (f.name === 'PCMU' || f.name === 'PCMA') && f.rate === 8000 && codecs.includes(f.name));
  if (!hit) {
    const offered = audio.formats.map((f) => `${f.pt} ${f.name}/${f.rate}`).join(', ') || 'nothing';
    throw sdpError(`no common codec: ${what} has ${offered}; we support ${codecs.join(', ')}`);
  }
  const ev = audio.formats.find((f) => f.name === 'TELEPHONE-EVENT' && f.rate === 8000);
  return {
    address: audio.address,
    port: audio.port,
    codec: hit.name as RtpCodecName,
    payloadType: hit.pt,
    ...(ev ? { telephoneEventPt: ev.pt } : {}),
    ptimeMs: audio.ptimeMs ?? ptimeMs,
    direction: audio.direction,
    rtcpPort: audio.rtcpMux ? audio.port : (audio.rtcpPort ?? audio.port + 1),
    rtcpMux: audio.rtcpMux,
  };
}

/** Parses the peer's answer to our offer. */
export function parseAnswer(sdp: string, offered: { codecs: readonly RtpCodecName[]; ptimeMs: number; srtp?: LocalSrtp }): NegotiatedMedia {
  const audio = readAudio(sdp, 'SDP answer');
  const media = choose(audio, offered.codecs, 'SDP answer', offered.ptimeMs);
  const mode = offered.srtp?.mode ?? 'off';
  if (!audio.savp) {
    if (mode === 'require') throw sdpError('SDP answer is plain RTP/AVP but sip.srtp is "require"');
    return media;
  }
  if (mode === 'off' || !offered.srtp) throw sdpError('SDP answer uses RTP/SAVP but we offered plain RTP/AVP');
  const ours = offeredCrypto(offered.srtp);
  const c = pickCrypto(audio, 'SDP answer', SRTP_SUITES);
  const line = ours.find((o) => o.tag === c.tag);
  if (!line) throw sdpError(`SDP answer crypto tag ${c.tag} does not match our offered tags ${ours.map((o) => o.tag).join(', ')} (RFC 4568 §7.1.3)`);
  if (line.suite !== c.suite) throw sdpError(`SDP answer crypto tag ${c.tag} has suite ${c.suite} but we offered ${line.suite} with that tag (RFC 4568 §7.1.3)`);
  return { ...media, srtp: { suite: c.suite, tag: c.tag, localKey: line.key, remoteKey: c.key } };
}

/** Answers a peer's offer: the first offered codec we support, telephone-event if offered. */
export function answerOffer(offerSdp: string, local: LocalMedia): { sdp: string; media: NegotiatedMedia } {
  const audio = readAudio(offerSdp, 'SDP offer');
  const chosen = choose(audio, local.codecs, 'SDP offer', local.ptimeMs);
  const payloads = [{ pt: chosen.payloadType, codec: chosen.codec, rate: 8000 }];
  const ev = chosen.telephoneEventPt;
  const all = ev !== undefined ? [...payloads, { pt: ev, codec: 'telephone-event', rate: 8000, fmtp: '0-15' }] : payloads;
  const mode = local.srtp?.mode ?? 'off';
  let media: NegotiatedMedia = chosen;
  const extras: Extras = { rtcpMux: audio.rtcpMux, direction: ANSWER_DIRECTION[audio.direction] };
  if (audio.savp) {
    if (mode === 'off' || !local.srtp) throw sdpError('SDP offer uses RTP/SAVP but sip.srtp is "off"');
    const c = pickCrypto(audio, 'SDP offer', local.srtp.suites && local.srtp.suites.length > 0 ? local.srtp.suites : [SRTP_SUITE]);
    const localKey = checkKey(local.srtp.key);
    extras.crypto = [{ tag: c.tag, suite: c.suite, key: localKey }];
    media = { ...chosen, srtp: { suite: c.suite, tag: c.tag, localKey, remoteKey: c.key } };
  } else if (mode === 'require') {
    throw sdpError('SDP offer is plain RTP/AVP but sip.srtp is "require"');
  }
  return { sdp: describe({ ...local, ptimeMs: chosen.ptimeMs }, all, extras), media };
}
