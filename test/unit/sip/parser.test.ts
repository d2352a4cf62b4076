import assert from 'node:assert/strict';
import { TonewallError } from '../../../hw/base/errors';
import { parseMessage, serializeMessage } from '../../../controller/sip/core/messages/parser';
import { callId, cseq, from, header, headerValues, to, topVia, vias } from '../../../controller/sip/core/messages/message';
import { sipText } from '../../lib/sip-fake-transport';

const INVITE = [
  'INVITE sip:100@192.0.2.10:5080 SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc123;rport',
  'Max-Forwards: 70',
  'From: "Alice Smith" <sip:5551234@192.0.2.1>;tag=f1',
  'To: <sip:100@192.0.2.10:5080>',
  'Call-ID: a84b4c76e66710@192.0.2.1',
  'CSeq: 314159 INVITE',
  'Contact: <sip:5551234@192.0.2.1:5062>',
  'Content-Type: application/sdp',
];

function parse(lines: string[], body = ''): ReturnType<typeof parseMessage> {
  return parseMessage(Buffer.from(sipText(lines, body)));
}

function throwsCode(fn: () => unknown, code: string, text: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof TonewallError && err.code === code && text.test(err.message));
}

describe('SIP message parser (RFC 3261 §7, §20, §25)', () => {
  it('§7.1 parses a request line, headers and a body framed by Content-Length', () => {
    const msg = parse([...INVITE, 'Content-Length: 4'], 'v=0\r');
    assert.equal(msg.kind, 'request');
    if (msg.kind !== 'request') return;
    assert.equal(msg.method, 'INVITE');
    assert.equal(msg.uri, 'sip:100@192.0.2.10:5080');
    assert.equal(msg.body.toString(), 'v=0\r');
    assert.equal(callId(msg), 'a84b4c76e66710@192.0.2.1');
    assert.deepEqual(cseq(msg), { seq: 314159, method: 'INVITE' });
    assert.equal(from(msg).displayName, 'Alice Smith');
    assert.equal(from(msg).params.get('tag'), 'f1');
    assert.equal(to(msg).params.has('tag'), false);
  });

  it('§7.2 parses a status line with a multi-word reason phrase', () => {
    const msg = parse(['SIP/2.0 486 Busy Here Now', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@h>;tag=1', 'To: <sip:b@h>;tag=2', 'Call-ID: x', 'CSeq: 1 INVITE', 'Content-Length: 0']);
    assert.equal(msg.kind, 'response');
    if (msg.kind !== 'response') return;
    assert.equal(msg.status, 486);
    assert.equal(msg.reason, 'Busy Here Now');
  });

  it('§7.3.1 header names are case-insensitive and LWS around the colon is allowed', () => {
    const msg = parse(['OPTIONS sip:h SIP/2.0', 'via :  SIP/2.0/UDP h;branch=z9hG4bK1', 'MAX-FORWARDS: 70', 'fRoM: <sip:a@h>;tag=1', 'TO: <sip:b@h>', 'call-id: c1', 'cseq: 2 OPTIONS']);
    assert.equal(header(msg, 'Call-ID'), 'c1');
    assert.equal(header(msg, 'max-forwards'), '70');
  });

  it('§7.3.1 unfolds header values continued on lines starting with whitespace', () => {
    const msg = parse(['OPTIONS sip:h SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'Max-Forwards: 70', 'From: <sip:a@h>;tag=1', 'To: <sip:b@h>', 'Call-ID: c1', 'CSeq: 2 OPTIONS', 'Subject: I know you are there,', '   pick up the phone', '\tand talk to me!']);
    assert.equal(header(msg, 'subject'), 'I know you are there, pick up the phone and talk to me!');
  });

  it('§7.3.1 splits list headers on commas outside quotes and angle brackets', () => {
    const msg = parse(['OPTIONS sip:h SIP/2.0', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b:5070;branch=z9hG4bK2', 'Max-Forwards: 70', 'From: <sip:a@h>;tag=1', 'To: <sip:b@h>', 'Call-ID: c1', 'CSeq: 2 OPTIONS',
      'Contact: "Doe, John" <sip:j@h;x=a,b>;q=0.5, <sip:k@h>', 'Allow: INVITE,ACK , BYE']);
    assert.deepEqual(vias(msg).map((v) => `${v.host}:${v.port ?? ''}`), ['a:', 'b:5070']);
    assert.deepEqual(headerValues(msg, 'contact'), ['"Doe, John" <sip:j@h;x=a,b>;q=0.5', '<sip:k@h>']);
    assert.deepEqual(headerValues(msg, 'allow'), ['INVITE', 'ACK', 'BYE']);
  });

  it('§7.3.3 expands compact header forms i m f t v l c k s e', () => {
    const msg = parse(['INVITE sip:h SIP/2.0', 'v: SIP/2.0/UDP h;branch=z9hG4bK1', 'Max-Forwards: 70', 'f: <sip:a@h>;tag=1', 't: <sip:b@h>', 'i: cid', 'CSeq: 1 INVITE', 'm: <sip:a@h:5062>', 'c: application/sdp', 'k: 100rel', 's: hello', 'e: gzip', 'l: 3'], 'abc');
    assert.equal(callId(msg), 'cid');
    assert.equal(header(msg, 'contact'), '<sip:a@h:5062>');
    assert.equal(header(msg, 'content-type'), 'application/sdp');
    assert.equal(header(msg, 'supported'), '100rel');
    assert.equal(header(msg, 'subject'), 'hello');
    assert.equal(header(msg, 'content-encoding'), 'gzip');
    assert.equal(msg.body.toString(), 'abc');
    assert.match(serializeMessage(msg).toString(), /\r\nCall-ID: cid\r\n/);
  });

  it('§7.5 ignores CRLFs before the start line', () => {
    const msg = parseMessage(Buffer.from('\r\n\r\n' + sipText([...INVITE, 'Content-Length: 0'])));
    assert.equal(msg.kind, 'request');
  });

  it('§18.3 Content-Length beyond the datagram is an error naming both lengths', () => {
    throwsCode(() => parse([...INVITE, 'Content-Length: 900'], 'v=0\r\no=x y\r\n'), 'ESIPLENGTH', /Content-Length 900 exceeds body length 12/);
  });

  it('§18.3 bytes after Content-Length are discarded; no Content-Length means the rest of the datagram', () => {
    assert.equal(parse([...INVITE, 'Content-Length: 2'], 'abcdef').body.toString(), 'ab');
    assert.equal(parse(INVITE, 'abcdef').body.toString(), 'abcdef');
  });

  it('§20.14 a non-numeric Content-Length is an error naming it', () => {
    throwsCode(() => parse([...INVITE, 'Content-Length: 12a'], ''), 'ESIPLENGTH', /Content-Length "12a" is not a decimal number/);
  });

  for (const missing of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) {
    it(`§8.1.1 a request without ${missing} is rejected naming the header`, () => {
      const lines = INVITE.filter((l) => !l.toLowerCase().startsWith(missing.toLowerCase() + ':'));
      throwsCode(() => parse(lines), 'ESIPMISSING', new RegExp(`missing mandatory header ${missing}`));
    });
  }

  it('§16.3 a request without Max-Forwards is accepted (only proxies act on it; RFC 4475 §3.4.1); a non-numeric one is an error', () => {
    const lines = INVITE.filter((l) => !l.toLowerCase().startsWith('max-forwards:'));
    assert.equal(parse(lines).kind, 'request');
    throwsCode(() => parse(INVITE.map((l) => (l.toLowerCase().startsWith('max-forwards:') ? 'Max-Forwards: seventy' : l))), 'ESIPHEADER', /Max-Forwards "seventy" is not a decimal number/);
  });

  it('§8.1.1.5 CSeq method must match the request method', () => {
    throwsCode(() => parse(INVITE.map((l) => (l.startsWith('CSeq') ? 'CSeq: 1 ACK' : l))), 'ESIPCSEQ', /CSeq method "ACK" does not match request method "INVITE"/);
  });

  it('§8.1.1.5 CSeq numbers must be below 2^31', () => {
    throwsCode(() => parse(INVITE.map((l) => (l.startsWith('CSeq') ? 'CSeq: 36893488147419103232 INVITE' : l))), 'ESIPHEADER', /CSeq "36893488147419103232 INVITE"/);
  });

  it('§7.1 an unknown SIP version is rejected naming it', () => {
    throwsCode(() => parse(['INVITE sip:h SIP/7.0', ...INVITE.slice(1)]), 'ESIPVERSION', /SIP version "SIP\/7.0" is not SIP\/2.0/);
  });

  it('§25.1 a request line with extra spaces is rejected (escaped spaces belong in the URI)', () => {
    throwsCode(() => parse(['INVITE sip:100@h  SIP/2.0', ...INVITE.slice(1)]), 'ESIPSTART', /request line/);
  });

  it('§7.2 a status code outside 100-699 is rejected', () => {
    throwsCode(() => parse(['SIP/2.0 999 Odd', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@h>;tag=1', 'To: <sip:b@h>', 'Call-ID: x', 'CSeq: 1 INVITE']), 'ESIPSTART', /status code 999/);
  });

  it('§25.1 a header line without a colon is rejected quoting it', () => {
    throwsCode(() => parse([...INVITE, 'NoColonHere']), 'ESIPHEADER', /header line "NoColonHere"/);
  });

  it('§20.42 Via: sent-protocol with LWS, IPv6 sent-by, received and rport (RFC 3581)', () => {
    const msg = parse(INVITE.map((l) => (l.startsWith('Via') ? 'Via: SIP / 2.0 / udp [2001:db8::9]:5070 ; branch = z9hG4bKx ; received=192.0.2.7;rport=5071' : l)));
    const v = topVia(msg);
    assert.equal(v.transport, 'UDP');
    assert.equal(v.host, '2001:db8::9');
    assert.equal(v.port, 5070);
    assert.equal(v.params.get('branch'), 'z9hG4bKx');
    assert.equal(v.params.get('received'), '192.0.2.7');
    assert.equal(v.params.get('rport'), '5071');
  });

  it('§20.10 name-addr with escaped quotes in the display name and addr-spec with header params', () => {
    const msg = parse(INVITE.map((l) => (l.startsWith('From') ? 'From: "A \\"quoted\\" name" <sip:a@h>;tag=9' : l.startsWith('To') ? 'To: sip:b@h;tag=7' : l)));
    assert.equal(from(msg).displayName, 'A "quoted" name');
    assert.equal(to(msg).uri, 'sip:b@h');
    assert.equal(to(msg).params.get('tag'), '7');
  });

  it('§7 serialize → parse round-trips and writes Content-Length from the body', () => {
    const msg = parse([...INVITE, 'Content-Length: 99999'].slice(0, -1), 'v=0\r\n');
    const again = parseMessage(serializeMessage(msg));
    assert.deepEqual(again.headers.filter((h) => h.name !== 'content-length'), msg.headers);
    assert.equal(header(again, 'content-length'), '5');
    assert.equal(again.body.toString(), 'v=0\r\n');
  });

  it('tolerates bare LF line ends', () => {
    const msg = parseMessage(Buffer.from(INVITE.join('\n') + '\nContent-Length: 1\n\nx'));
    assert.equal(msg.body.toString(), 'x');
  });
});
