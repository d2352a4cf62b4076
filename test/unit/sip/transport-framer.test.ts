/**
 * RFC 3261 §18.3 stream framing by Content-Length and RFC 5626 §4.4.1 CRLF keepalives: messages
 * split at every byte, merged, with bodies, compact `l:`; framing errors close the stream.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SipStreamFramer, type StreamFrame } from '../../../controller/sip/core/transport-framer';
import { parseMessage } from '../../../controller/sip/core/messages/parser';

function msg(body: string, lengthHeader = 'Content-Length'): string {
  return [
    'OPTIONS sip:trunk@127.0.0.1 SIP/2.0',
    'Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK1',
    'Max-Forwards: 70',
    'From: <sip:a@127.0.0.1>;tag=1',
    'To: <sip:trunk@127.0.0.1>',
    'Call-ID: c1',
    'CSeq: 1 OPTIONS',
    `${lengthHeader}: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

function messages(frames: StreamFrame[]): string[] {
  return frames.flatMap((f) => (f.kind === 'message' ? [f.data.toString('utf8')] : []));
}

describe('SIP stream framer (RFC 3261 §18.3)', () => {
  it('§18.3: frames two merged messages by Content-Length, bodies intact', () => {
    const a = msg('v=0\r\n');
    const b = msg('');
    const out = new SipStreamFramer().push(Buffer.from(a + b));
    assert.deepEqual(messages(out), [a, b]);
    assert.equal(parseMessage(Buffer.from(messages(out)[0] ?? '')).body.toString(), 'v=0\r\n');
  });

  it('§18.3: a message split at every byte boundary comes out once, whole', () => {
    const a = msg('hello body');
    for (let cut = 1; cut < a.length; cut++) {
      const f = new SipStreamFramer();
      const first = f.push(Buffer.from(a.slice(0, cut)));
      const second = f.push(Buffer.from(a.slice(cut)));
      assert.deepEqual(messages([...first, ...second]), [a], `cut at ${cut}`);
      assert.equal(f.pendingBytes, 0);
    }
  });

  it('§7.3.3: the compact form "l" gives the length', () => {
    const a = msg('xyz', 'l');
    assert.deepEqual(messages(new SipStreamFramer().push(Buffer.from(a + a))), [a, a]);
  });

  it('RFC 5626 §4.4.1: CRLFCRLF is a ping; CRLF is a pong while we await one', () => {
    const a = msg('');
    const out = new SipStreamFramer().push(Buffer.from(`\r\n\r\n${a}`));
    assert.deepEqual(out.map((f) => f.kind), ['ping', 'message']);
    assert.deepEqual(new SipStreamFramer().push(Buffer.from('\r\n'), true).map((f) => f.kind), ['pong']);
  });

  it('a lone CRLF while no pong is awaited waits: the rest of a ping, or a message it precedes (RFC 3261 §7.5)', () => {
    const f = new SipStreamFramer();
    assert.deepEqual(f.push(Buffer.from('\r\n')), []);
    assert.deepEqual(f.push(Buffer.from('\r\n')).map((x) => x.kind), ['ping']);
    const a = msg('');
    assert.deepEqual(f.push(Buffer.from('\r\n')), []);
    assert.deepEqual(messages(f.push(Buffer.from(a))), [a]);
  });

  it('RFC 5626 §4.4.1: a ping split in two chunks is one ping', () => {
    const f = new SipStreamFramer();
    const first = f.push(Buffer.from('\r\n\r'));
    const second = f.push(Buffer.from('\n'));
    assert.deepEqual([...first, ...second].map((x) => x.kind), ['ping']);
  });

  it('§20.14: a message without Content-Length on a stream is a framing error naming the rule', () => {
    const bad = msg('').replace(/Content-Length: 0\r\n/, '');
    assert.throws(() => new SipStreamFramer().push(Buffer.from(bad)), /no Content-Length.*§20\.14/);
  });

  it('a non-numeric Content-Length is an error naming the value', () => {
    assert.throws(() => new SipStreamFramer().push(Buffer.from(msg('', 'Content-Length').replace('Content-Length: 0', 'Content-Length: 1x'))), /Content-Length "1x"/);
  });

  it('a header block growing past the limit without an empty line is an error, not a buffer without end', () => {
    const f = new SipStreamFramer(1024);
    assert.throws(() => f.push(Buffer.from(`INVITE sip:a@b SIP/2.0\r\nX: ${'a'.repeat(2000)}`)), /exceeds 1024/);
  });

  it('property (fixed seed, 2,000 runs): any messages and pings, cut at any points, come out the same and in order; garbage never throws anything but a framing error', () => {
    const item = fc.oneof(fc.string({ maxLength: 200 }).map((body) => ({ kind: 'message' as const, text: msg(body) })), fc.constant({ kind: 'ping' as const, text: '\r\n\r\n' }));
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (items, cutSeeds) => {
        const all = Buffer.from(items.map((i) => i.text).join(''));
        const cuts = [...new Set(cutSeeds.map((c) => c % all.length))].sort((a, b) => a - b);
        const f = new SipStreamFramer();
        const out: StreamFrame[] = [];
        let at = 0;
        for (const c of [...cuts, all.length]) {
          out.push(...f.push(all.subarray(at, c)));
          at = c;
        }
        assert.deepEqual(out.map((o) => (o.kind === 'message' ? o.data.toString() : o.kind)), items.map((i) => (i.kind === 'message' ? i.text : 'ping')));
      }),
      { seed: 4242, numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          new SipStreamFramer(512).push(Buffer.from(bytes));
        } catch (err) {
          assert.match(String((err as Error).message), /Content-Length|exceeds/);
        }
      }),
      { seed: 4243, numRuns: 2000 },
    );
  });

  it('64 KB of stray CRs and LFs before a message are skipped without deep recursion', () => {
    const a = msg('');
    const junk = Buffer.alloc(65_000, '\r');
    assert.deepEqual(messages(new SipStreamFramer().push(Buffer.concat([junk, Buffer.from(a)]))), [a]);
  });

  it('a Content-Length beyond the limit is refused before the body arrives', () => {
    const f = new SipStreamFramer(1024);
    assert.throws(() => f.push(Buffer.from(msg('').replace('Content-Length: 0', 'Content-Length: 5000'))), /Content-Length 5000\) exceeds 1024/);
  });
});
