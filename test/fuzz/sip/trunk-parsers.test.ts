/**
 * Fuzzing the trunk-side parsers of untrusted input (DESIGN.md §7): the TCP/TLS stream framer
 * (bytes from any connected peer), the digest challenge parser (WWW-/Proxy-Authenticate from the
 * trunk) and the edge's request-method peek (every datagram). 1,000,000 inputs each by default
 * (TW_FUZZ_RUNS), fixed seeds, `npm run test:fuzz`; each returns or throws a TonewallError with its
 * code, never anything else, never hangs. Prints inputs/s (loop: test/lib/fuzz-run.ts).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SipStreamFramer } from '../../../controller/sip/core/transport-framer';
import { parseChallenge } from '../../../controller/sip/auth/digest';
import { requestMethod } from '../../../controller/sip/edge/edge-transport';
import { assertClearRejection, FUZZ_RUNS, runFuzz } from '../../lib/fuzz-run';

const MSG = 'INVITE sip:1@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.2;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:1@10.0.0.1>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 4\r\n\r\nv=0\n';

/** Valid messages and keepalives, cut, with bytes flipped, inserted or deleted. */
const streamBytes = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
  fc.tuple(fc.array(fc.constantFrom(MSG, '\r\n\r\n', '\r\n', MSG.replace('4\r\n', '99999\r\n'), MSG.replace('Content-Length: 4\r\n', '')), { maxLength: 6 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }))
    .map(([parts, edits]) => {
      const b = Buffer.from(parts.join(''));
      for (const [at, v] of edits) if (b.length > 0) b[at % b.length] = v;
      return b;
    }),
);

const challengeText = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.array(fc.tuple(fc.constantFrom('realm', 'nonce', 'qop', 'algorithm', 'opaque', 'stale', 'domain', 'x'), fc.oneof(fc.string({ maxLength: 20 }).map((s) => `"${s}"`), fc.string({ maxLength: 20 }))), { maxLength: 8 })
    .map((ps) => `Digest ${ps.map(([k, v]) => `${k}=${v}`).join(', ')}`),
);

describe('fuzz: SIP trunk parsers', function () {
  this.timeout(1_800_000);

  it(`${FUZZ_RUNS} inputs: SipStreamFramer frames or throws ESIPFRAME, split at random points`, async () => {
    await runFuzz(
      'SipStreamFramer',
      fc.property(streamBytes, fc.nat(), fc.boolean(), (bytes, cut, expectingPong) => {
        const f = new SipStreamFramer(4096);
        try {
          const at = bytes.length > 0 ? cut % bytes.length : 0;
          const frames = [...f.push(bytes.subarray(0, at), expectingPong), ...f.push(bytes.subarray(at), expectingPong)];
          for (const fr of frames) if (fr.kind === 'message') assert.ok(fr.data.length <= 4096);
        } catch (err) {
          assertClearRejection(err, 'ESIPFRAME');
        }
      }),
      6101,
    );
  });

  it(`${FUZZ_RUNS} inputs: parseChallenge returns a challenge or throws ESIPAUTH`, async () => {
    await runFuzz(
      'parseChallenge',
      fc.property(challengeText, (text) => {
        try {
          const ch = parseChallenge(text);
          assert.equal(typeof ch.nonce, 'string');
        } catch (err) {
          assertClearRejection(err, 'ESIPAUTH');
        }
      }),
      6102,
    );
  });

  it(`${FUZZ_RUNS} inputs: the edge's requestMethod never throws and returns a bounded token`, async () => {
    await runFuzz(
      'requestMethod',
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const m = requestMethod(Buffer.from(bytes));
        if (m !== undefined) assert.ok(m.length <= 20 || m === '(not SIP)');
      }),
      6103,
    );
  });
});
