/**
 * SDP offer/answer for one G.711 audio stream (RFC 4566 SDP, RFC 3264 offer/answer, RFC 3551 static
 * payload types 0 = PCMU, 8 = PCMA, RFC 4733 telephone-event), built and parsed with sdp-transform.
 *
 * Offer: `m=audio <port> RTP/AVP <codecs in config order> 101`, rtpmaps, `fmtp:101 0-15`,
 * `a=ptime`, `a=sendrecv`, session-level c= and o= with our address.
 * Answer parsing / answering: the first payload type of the answer's (or offer's) m-line that we
 * support wins (RFC 3264 §6.1 order of preference); no common codec is an error naming what was
 * offered. Static payload types are recognised without rtpmap (RFC 3551 §6).
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
}

export interface NegotiatedMedia {
  address: string;
  port: number;
  codec: RtpCodecName;
  payloadType: number;
  telephoneEventPt?: number;
  ptimeMs: number;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
}

function sdpError(message: string): TonewallError {
  return new TonewallError('ESDP', message);
}

function ipVer(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

function describe(local: LocalMedia, payloads: Array<{ pt: number; codec: string; rate: number; fmtp?: string }>): string {
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
        protocol: 'RTP/AVP',
        payloads: payloads.map((p) => p.pt).join(' '),
        rtp: payloads.map((p) => ({ payload: p.pt, codec: p.codec, rate: p.rate })),
        fmtp: payloads.filter((p) => p.fmtp !== undefined).map((p) => ({ payload: p.pt, config: p.fmtp ?? '' })),
        ptime: local.ptimeMs,
        direction: 'sendrecv',
      },
    ],
  };
  return sdpTransform.write(session);
}

/** Builds our offer (PCMU/PCMA in config order + telephone-event 0-15). */
export function buildOffer(local: LocalMedia): string {
  if (local.codecs.length === 0) throw sdpError('cannot build an SDP offer with no codecs');
  const ev = local.telephoneEventPt ?? DEFAULT_TELEPHONE_EVENT_PT;
  return describe(local, [
    ...local.codecs.map((c) => ({ pt: STATIC_PT[c], codec: c, rate: 8000 })),
    { pt: ev, codec: 'telephone-event', rate: 8000, fmtp: '0-15' },
  ]);
}

interface OfferedAudio {
  address: string;
  port: number;
  /** (pt, encoding name upper-case, clock rate) in m-line order. */
  formats: Array<{ pt: number; name: string; rate: number }>;
  ptimeMs: number | undefined;
  direction: NegotiatedMedia['direction'];
}

function readAudio(sdp: string, what: string): OfferedAudio {
  if (!/^v=0/m.test(sdp)) throw sdpError(`${what} is not SDP: it does not start with "v=0" (got "${sdp.slice(0, 20)}")`);
  const parsed = sdpTransform.parse(sdp);
  const m = parsed.media.find((x) => x.type === 'audio');
  if (!m) throw sdpError(`${what} has no m=audio line (media: ${parsed.media.map((x) => x.type).join(', ') || 'none'})`);
  if (!/^RTP\/AVP$/i.test(m.protocol)) throw sdpError(`${what} audio protocol "${m.protocol}" is not RTP/AVP (SRTP comes later)`);
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
  return { address, port: m.port, formats, ptimeMs: m.ptime, direction };
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
  };
}

/** Parses the peer's answer to our offer. */
export function parseAnswer(sdp: string, offered: { codecs: readonly RtpCodecName[]; ptimeMs: number }): NegotiatedMedia {
  return choose(readAudio(sdp, 'SDP answer'), offered.codecs, 'SDP answer', offered.ptimeMs);
}

/** Answers a peer's offer: the first offered codec we support, telephone-event if offered. */
export function answerOffer(offerSdp: string, local: LocalMedia): { sdp: string; media: NegotiatedMedia } {
  const media = choose(readAudio(offerSdp, 'SDP offer'), local.codecs, 'SDP offer', local.ptimeMs);
  const payloads = [{ pt: media.payloadType, codec: media.codec, rate: 8000 }];
  const ev = media.telephoneEventPt;
  const all = ev !== undefined ? [...payloads, { pt: ev, codec: 'telephone-event', rate: 8000, fmtp: '0-15' }] : payloads;
  return { sdp: describe({ ...local, ptimeMs: media.ptimeMs }, all), media };
}
