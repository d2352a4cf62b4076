/**
 * Fuzzing the SIP message parser (controller/sip/core/messages/parser.ts), the first code every
 * datagram and stream frame from the network reaches. 1,000,000 inputs by default (TW_FUZZ_RUNS),
 * fixed seed, `npm run test:fuzz`; prints inputs/s.
 *
 * Inputs: arbitrary bytes; the RFC 4475 / RFC 5118 torture messages (test/fixtures/sip-torture) and
 * a plain INVITE, mutated at the byte level (flips, cuts, inserted CR/LF/NUL/quote/colon/bracket)
 * and at the header level (lines dropped, repeated, swapped, values replaced by hostile text,
 * folded). Per input: parseMessage returns a message or throws a TonewallError whose code starts
 * with ESIP and whose message names the fault (assertClearRejection); never anything else. An
 * accepted message serializes and parses back to the same start line, Call-ID, CSeq and body.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { TonewallError } from '../../../hw/base/errors';
import { callId, cseq } from '../../../controller/sip/core/messages/message';
import { parseMessage, serializeMessage } from '../../../controller/sip/core/messages/parser';
import { FUZZ_RUNS, assertClearRejection, runFuzz } from '../../lib/fuzz-run';

const DIR = resolve(__dirname, '../../../../test/fixtures/sip-torture');
const INVITE =
  'INVITE sip:2001@10.0.0.1:5060;transport=udp SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK77ef;rport\r\nMax-Forwards: 70\r\n' +
  'From: "Branch 12" <sip:5551234@10.0.0.2>;tag=a1b2\r\nTo: <sip:2001@10.0.0.1>\r\nCall-ID: 8f1c@10.0.0.2\r\nCSeq: 1 INVITE\r\n' +
  'Contact: <sip:5551234@10.0.0.2:5060>\r\nSupported: timer, 100rel\r\nSession-Expires: 1800;refresher=uac\r\nContent-Type: application/sdp\r\nContent-Length: 129\r\n\r\n' +
  'v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n';
const SEEDS: Buffer[] = [Buffer.from(INVITE), ...readdirSync(DIR).filter((f) => f.endsWith('.dat')).sort().map((f) => readFileSync(join(DIR, f)))];
const NASTY = ['\r', '\n', '\r\n', '\0', '"', ':', ';', ',', '<', '>', '[', ']', '\\', ' ', '\t', '%', '%0', '@', '?', '=', '\u00ff', '\ufeff'];
const HOSTILE = ['', ' ', '"', '<sip:a@b', 'sip:[::1', 'SIP/2.0/UDP', '4294967296 INVITE', '-1', '99999999999', ';;;;', ',,,,', 'a'.repeat(3000), '\u0000\u0001', '"\\', '<>', 'sip:a@[2001:db8:::1]', 'tel:+1'];

const byteMutation = fc.tuple(fc.nat(SEEDS.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('set', 'cut', 'insert', 'delete', 'nasty'), fc.constantFrom(...NASTY)), { minLength: 1, maxLength: 6 })).map(([i, edits]) => {
  let b = Buffer.from(SEEDS[i] ?? Buffer.alloc(0));
  for (const [at, v, op, text] of edits) {
    const p = b.length ? at % b.length : 0;
    if (op === 'set' && b.length) b[p] = v;
    else if (op === 'cut') b = b.subarray(0, p);
    else if (op === 'delete') b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + (v % 8))]);
    else if (op === 'insert') b = Buffer.concat([b.subarray(0, p), Buffer.from([v]), b.subarray(p)]);
    else b = Buffer.concat([b.subarray(0, p), Buffer.from(text), b.subarray(p)]);
  }
  return b;
});

const headerMutation = fc.tuple(fc.nat(SEEDS.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('drop', 'dup', 'swap', 'value', 'fold', 'name'), fc.constantFrom(...HOSTILE)), { minLength: 1, maxLength: 5 })).map(([i, edits]) => {
  const text = (SEEDS[i] ?? Buffer.alloc(0)).toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  const head = (split < 0 ? text : text.slice(0, split)).split('\r\n');
  const body = split < 0 ? '' : text.slice(split + 4);
  for (const [a, b, op, junk] of edits) {
    if (head.length < 2) break;
    const x = 1 + (a % (head.length - 1));
    const y = 1 + (b % (head.length - 1));
    const line = head[x] ?? '';
    if (op === 'drop') head.splice(x, 1);
    else if (op === 'dup') head.splice(y, 0, line);
    else if (op === 'swap') [head[x], head[y]] = [head[y] ?? '', line];
    else if (op === 'value') head[x] = `${line.split(':')[0] ?? 'X'}: ${junk}`;
    else if (op === 'fold') head[x] = line.replace(/ /, '\r\n ');
    else head[x] = `${junk}${line.slice(line.indexOf(':'))}`;
  }
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`, 'latin1');
});

const input = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }).map((s) => Buffer.from(`INVITE sip:a@b SIP/2.0\r\n${s}`)) },
  { weight: 5, arbitrary: byteMutation },
  { weight: 5, arbitrary: headerMutation },
);

describe('fuzz: SIP message parser', function () {
  this.timeout(1_800_000);

  it(`${FUZZ_RUNS} inputs: a message that round-trips, or a clear ESIP* rejection`, async () => {
    let accepted = 0;
    const property = fc.property(input, (data) => {
      let m;
      try {
        m = parseMessage(data);
      } catch (err) {
        assertClearRejection(err);
        assert.ok((err as TonewallError).code.startsWith('ESIP'), (err as TonewallError).code);
        return;
      }
      accepted++;
      const again = parseMessage(serializeMessage(m));
      assert.equal(again.kind, m.kind);
      if (again.kind === 'request' && m.kind === 'request') assert.deepEqual([again.method, again.uri], [m.method, m.uri]);
      if (again.kind === 'response' && m.kind === 'response') assert.equal(again.status, m.status);
      assert.equal(callId(again), callId(m));
      assert.deepEqual(cseq(again), cseq(m));
      assert.ok(again.body.equals(m.body), 'the body survives');
    });
    await runFuzz('SIP message parser', property, 0x51_9f_22);
    assert.ok(accepted > 1000, `the generators reach accepted messages (${accepted})`);
  });
});
