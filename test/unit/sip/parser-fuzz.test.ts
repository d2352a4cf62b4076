/**
 * DESIGN.md §7: every parser is fuzzed: no crash (only TonewallError), no hang. Fixed seeds so a
 * failure reproduces; ~100k runs in the normal test run.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TonewallError } from '../../../hw/base/errors';
import { parseMessage, serializeMessage } from '../../../controller/sip/core/messages/parser';
import { cseq, from, to, vias } from '../../../controller/sip/core/messages/message';
import { parseSipUri } from '../../../controller/sip/core/messages/uri';
import { badRequestFor } from '../../../controller/sip/core/messages/bad-request';
import { TransactionLayer } from '../../../controller/sip/core/transaction-layer';
import { nullLogger } from '../../../hw/base/logger';
import { ManualClock } from '../../lib/manual-clock';
import { FakeSipTransport, sipText } from '../../lib/sip-fake-transport';

const VALID = Buffer.from(sipText([
  'INVITE sip:100@127.0.0.1:5080;transport=udp SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'f: "Caller, The" <sip:5551234@127.0.0.1>;tag=1928301774',
  'To: <sip:100@127.0.0.1:5080>',
  'Call-ID: a84b4c76e66710@pc33.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:5551234@127.0.0.1:5062>, "x" <sip:y@z>',
  'Content-Type: application/sdp',
  'Content-Length: 11',
], 'v=0\r\ns=-\r\nX'));

/** Parse and, when it parses, exercise the typed accessors too: they must also only throw TonewallError. */
function parseAll(buf: Buffer): void {
  try {
    const msg = parseMessage(buf);
    cseq(msg);
    from(msg);
    to(msg);
    vias(msg);
    parseMessage(serializeMessage(msg));
  } catch (err) {
    if (!(err instanceof TonewallError)) throw err;
    assert.ok(err.message.length > 0);
  }
}

const mutation = fc.record({
  at: fc.nat(),
  del: fc.nat({ max: 8 }),
  insert: fc.uint8Array({ maxLength: 12 }),
});

describe('SIP parser fuzz (DESIGN.md §7)', function () {
  // ~120k parses take a few seconds; the limit only guards against a hang.
  this.timeout(120_000);

  it('the valid sample parses', () => {
    const msg = parseMessage(VALID);
    assert.equal(msg.body.toString(), 'v=0\r\ns=-\r\nX');
  });

  it('mutated messages (splice, delete, insert bytes): only TonewallError, 60k runs', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
        let buf = VALID;
        for (const m of muts) {
          const at = m.at % (buf.length + 1);
          buf = Buffer.concat([buf.subarray(0, at), Buffer.from(m.insert), buf.subarray(Math.min(buf.length, at + m.del))]);
        }
        parseAll(buf);
      }),
      { seed: 0x5151, numRuns: 60_000 },
    );
  });

  it('the whole receive path (parser, 400 builder, transaction matching) never throws on mutated datagrams, 20k runs', () => {
    const transport = new FakeSipTransport();
    const clock = new ManualClock();
    const layer = new TransactionLayer(transport, clock, nullLogger);
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (muts) => {
        let buf = VALID;
        for (const m of muts) {
          const at = m.at % (buf.length + 1);
          buf = Buffer.concat([buf.subarray(0, at), Buffer.from(m.insert), buf.subarray(Math.min(buf.length, at + m.del))]);
        }
        badRequestFor(buf, 'fuzz', 'tonewall');
        transport.inject(buf);
      }),
      { seed: 0x400, numRuns: 20_000 },
    );
    // Everything we answered must itself parse (FakeSipTransport parses every datagram it is given).
    assert.ok(transport.sent.length > 0);
    layer.shutdown();
  });

  it('truncations at every length: only TonewallError', () => {
    for (let n = 0; n <= VALID.length; n++) parseAll(VALID.subarray(0, n));
  });

  it('arbitrary text built from SIP-ish tokens: only TonewallError, 30k runs', () => {
    const token = fc.constantFrom('INVITE', ' ', 'SIP/2.0', '\r\n', ':', ';', ',', '<', '>', '"', 'sip:', '@', 'Via', 'v', 'l', 'Content-Length', '0', '99', 'z9hG4bK', '[', ']', '\\', '=', 'CSeq: 1 INVITE', 'Call-ID: x', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Max-Forwards: 70', '\t', '%');
    fc.assert(fc.property(fc.array(token, { maxLength: 60 }), (parts) => parseAll(Buffer.from(parts.join(''), 'utf8'))), { seed: 0x7e57, numRuns: 30_000 });
  });

  it('arbitrary bytes: only TonewallError, 10k runs', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => parseAll(Buffer.from(bytes))), { seed: 42, numRuns: 10_000 });
  });

  it('URI parser on arbitrary strings: only TonewallError, 20k runs', () => {
    const part = fc.constantFrom('sip:', 'sips:', 'a', '@', ':', '5060', '[', ']', '::1', ';', '=', '?', 'h.example', '%', '%41', ' ', '-', '.');
    fc.assert(
      fc.property(fc.array(part, { maxLength: 20 }), (parts) => {
        try {
          parseSipUri(parts.join(''));
        } catch (err) {
          if (!(err instanceof TonewallError)) throw err;
        }
      }),
      { seed: 99, numRuns: 20_000 },
    );
  });

  it('regression (message-parser fuzz, seed 5349154): a 3000-byte Via value is rejected with a message of at most 400 characters', () => {
    const text = `INVITE sip:2001@10.0.0.1 SIP/2.0\r\nVia: ${'a'.repeat(3000)}\r\nMax-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n`;
    assert.throws(() => parseMessage(Buffer.from(text)), (e: unknown) => e instanceof TonewallError && e.code === 'ESIPHEADER' && e.message.length <= 400 && /^Via "a{57}\.\.\.": expected/.test(e.message));
  });
});
