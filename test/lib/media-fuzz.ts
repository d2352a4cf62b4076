/**
 * Fuzz properties of the media parsers (DESIGN.md §7): RTP (decodeRtp), RTCP compound packets
 * (decodeRtcpCompound), RFC 4733 payloads (decodeTelephoneEvents), SDP (parseAnswer, answerOffer)
 * and SRTP unprotect. Inputs: valid packets mutated (bit flips, truncation, splices, length fields
 * rewritten) and raw random bytes/strings. Property: the parser returns, or throws a TonewallError
 * whose message is non-empty; any other exception fails the run (fast-check shrinks it and prints
 * the seed). Shared by test/unit/media (≈10k runs in npm test) and test/fuzz/media (1,000,000 each).
 */
import fc from 'fast-check';
import { assertClearRejection } from './fuzz-run';
import { decodeRtcpCompound, encodeBye, encodeReport, encodeSdesCname } from '../../controller/media/rtcp-packet';
import { decodeRtp, encodeRtp } from '../../controller/media/rtp-packet';
import { decodeTelephoneEvents } from '../../controller/media/rtp-event';
import { answerOffer, buildOffer, parseAnswer } from '../../controller/media/sdp';
import { SrtpProtector, splitKeySalt } from '../../controller/media/srtp-protector';

/** Calls fn; passes when it returns or throws a TonewallError with a message. */
export function onlyClearErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assertClearRejection(err);
  }
}

/** A valid sample plus byte-level mutations: flips, truncation, insertion, overwrite of a 16-bit field. */
export function mutated(samples: readonly Buffer[]): fc.Arbitrary<Buffer> {
  const base = fc.constantFrom(...samples);
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ kind: fc.constant('word' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 0xffff }) }),
  );
  const edited = fc.tuple(base, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([b, ms]) => {
    let buf = Buffer.from(b);
    for (const m of ms) {
      const at = buf.length === 0 ? 0 : m.at % buf.length;
      if (m.kind === 'flip') buf[at] = (buf[at] ?? 0) ^ (1 << m.bit);
      else if (m.kind === 'cut') buf = buf.subarray(0, at);
      else if (m.kind === 'insert') buf = Buffer.concat([buf.subarray(0, at), Buffer.from(m.bytes), buf.subarray(at)]);
      else if (at + 2 <= buf.length) buf.writeUInt16BE(m.value, at);
    }
    return buf;
  });
  return fc.oneof({ weight: 4, arbitrary: edited }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)) });
}

const RTP_SAMPLES = [
  encodeRtp({ payloadType: 0, sequence: 1, timestamp: 160, ssrc: 7, payload: Buffer.alloc(160, 0x7f) }),
  encodeRtp({ payloadType: 101, sequence: 2, timestamp: 320, ssrc: 7, payload: Buffer.from('05800320', 'hex'), marker: true }),
  encodeRtp({ payloadType: 8, sequence: 3, timestamp: 480, ssrc: 7, csrcs: [1, 2], extension: { profile: 0xbede, data: Buffer.alloc(8, 1) }, payload: Buffer.alloc(20), paddingBytes: 4 }),
];
const RTCP_SAMPLES = [
  Buffer.concat([encodeReport(1, { ntpSeconds: 1, ntpFraction: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 }, [{ ssrc: 2, fractionLost: 1, cumulativeLost: -1, extendedHighestSeq: 9, jitter: 3, lastSr: 4, delaySinceLastSr: 5 }]), encodeSdesCname(1, 'tonewall-x')]),
  Buffer.concat([encodeReport(1, undefined, []), encodeSdesCname(1, 'a'), encodeBye(1, 'bye')]),
];
const EVENT_SAMPLES = [Buffer.from('05800320', 'hex'), Buffer.from('0b0a00a00b8a0140', 'hex')];

export const rtpProperty = fc.property(mutated(RTP_SAMPLES), (b) => onlyClearErrors(() => decodeRtp(b)));
export const rtcpProperty = fc.property(mutated(RTCP_SAMPLES), (b) => onlyClearErrors(() => decodeRtcpCompound(b)));
export const eventProperty = fc.property(mutated(EVENT_SAMPLES), (b) => onlyClearErrors(() => decodeTelephoneEvents(b)));

const KEY = Buffer.alloc(30, 7);
const SUITES = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const;
const OFFER = buildOffer({ address: '10.0.0.1', port: 4000, codecs: ['PCMU', 'PCMA'], ptimeMs: 20 });
const SAVP = buildOffer({ address: '10.0.0.1', port: 4000, codecs: ['PCMU'], ptimeMs: 20, srtp: { mode: 'offer', key: KEY } });
const EXTRA_LINES = [
  'a=rtcp-mux', 'a=rtcp:4001 IN IP4 10.0.0.1', 'a=sendonly', 'a=inactive', 'm=audio 0 RTP/AVP 0', 'm=video 5000 RTP/AVP 96', 'c=IN IP6 ::1',
  'a=rtpmap:0 PCMA/16000', 'a=rtpmap:101 telephone-event/8000', 'a=ptime:-5', 'a=ptime:99999999999', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA',
  'a=crypto:x y z', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY.toString('base64')}|2^20|1:4`, 'm=audio 70000 RTP/SAVP 0 8', 'm=audio 5000 RTP/AVP',
  'a=fmtp:101 0-15', 'c=', 'm=', 'a=rtpmap:', 'o=- x y IN IP4', 'v=1',
];

/** SDP: valid descriptions with lines dropped, duplicated, reordered, replaced or garbled; raw strings too. */
export const sdpText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(OFFER, SAVP), fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...EXTRA_LINES), fc.string({ maxLength: 30 }), fc.constant(''))), { maxLength: 5 }), fc.nat()).map(([sdp, edits, drop]) => {
    const lines = sdp.split('\r\n');
    for (const [at, line] of edits) lines.splice(at % (lines.length + 1), at % 3 === 0 ? 1 : 0, line);
    if (drop % 4 === 0 && lines.length > 1) lines.splice(drop % lines.length, 1);
    return lines.join(drop % 5 === 0 ? '\n' : '\r\n');
  }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((s) => `v=0\r\n${s}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
);

export const sdpProperty = fc.property(sdpText, fc.constantFrom('off', 'offer', 'require' as const), (sdp, mode) => {
  onlyClearErrors(() => parseAnswer(sdp, { codecs: ['PCMU', 'PCMA'], ptimeMs: 20, srtp: { mode, key: KEY, suites: SUITES, extraKeys: [KEY] } }));
  onlyClearErrors(() => answerOffer(sdp, { address: '10.0.0.2', port: 5000, codecs: ['PCMA', 'PCMU'], ptimeMs: 20, srtp: { mode, key: KEY, suites: SUITES } }));
});

const protector = new SrtpProtector(splitKeySalt(KEY), splitKeySalt(KEY));
const SRTP_SAMPLES = [protector.protectRtp(RTP_SAMPLES[0] as Buffer), protector.protectRtcp(RTCP_SAMPLES[1] as Buffer)];
const receiver = new SrtpProtector(splitKeySalt(KEY), splitKeySalt(KEY));
const receiver32 = new SrtpProtector(splitKeySalt(KEY), splitKeySalt(KEY), 'AES_CM_128_HMAC_SHA1_32');
export const srtpProperty = fc.property(mutated([...SRTP_SAMPLES, new SrtpProtector(splitKeySalt(KEY), splitKeySalt(KEY), 'AES_CM_128_HMAC_SHA1_32').protectRtp(RTP_SAMPLES[0] as Buffer)]), (b) => {
  onlyClearErrors(() => receiver.unprotectRtp(b));
  onlyClearErrors(() => receiver.unprotectRtcp(b));
  onlyClearErrors(() => receiver32.unprotectRtp(b));
});

/** Runs a property with a fixed seed; returns inputs per second. */
export function runMediaFuzz(property: fc.IPropertyWithHooks<[Buffer] | [string, 'off' | 'offer' | 'require']> | fc.IProperty<never>, seed: number, numRuns: number): number {
  const started = process.hrtime.bigint();
  fc.assert(property as fc.IProperty<unknown[]>, { seed, numRuns, endOnFailure: true });
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  return Math.round(numRuns / s);
}
