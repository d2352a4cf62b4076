/**
 * Messages in the spirit of RFC 4475 (SIP torture tests) §3.1.1 (valid, tricky) and §3.1.2
 * (invalid): written here, not copied, and checked for what our parser must do with each.
 * The full RFC 4475 corpus is a later round.
 */
import assert from 'node:assert/strict';
import { TonewallError } from '../../../hw/base/errors';
import { parseMessage } from '../../../controller/sip/core/messages/parser';
import { callId, cseq, from, header, headerValues, to, vias } from '../../../controller/sip/core/messages/message';

function msg(text: string): ReturnType<typeof parseMessage> {
  return parseMessage(Buffer.from(text.replace(/\n/g, '\r\n')));
}

describe('RFC 4475-style torture messages', () => {
  it('§3.1.1.1-style: short forms, odd case, LWS and folding everywhere still parse', () => {
    const m = msg(
      'INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\n' +
        'TO :\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\n' +
        'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\n  ;\n  tag = 98asjd8\n' +
        'MaX-fOrWaRdS: 0068\n' +
        'Call-ID: wsinv.ndaksdj@192.0.2.1\n' +
        'cseq: 0009\n  INVITE\n' +
        'Via  : SIP  /   2.0\n /UDP\n    192.0.2.2;branch=390skdjuw\n' +
        's :\n' +
        'NewFangledHeader:   newfangled value\n continued newfangled value\n' +
        'UnknownHeaderWithUnusualValue: ;;,,;;,;\n' +
        'Content-Type: application/sdp\n' +
        'v:  SIP  / 2.0  / TCP     spindle.example.com   ;\n  branch  =   z9hG4bK9ikj8  ,\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\n z9hG4bK30239\n' +
        'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\n      newvalue ;\n  secondparam ; q = 0.33\n' +
        'Content-Length: 0\n\n',
    );
    assert.equal(callId(m), 'wsinv.ndaksdj@192.0.2.1');
    assert.deepEqual(cseq(m), { seq: 9, method: 'INVITE' });
    assert.equal(to(m).params.get('tag'), '1918181833n');
    assert.equal(from(m).displayName, 'J Rosenberg \\"');
    assert.equal(from(m).params.get('tag'), '98asjd8');
    assert.deepEqual(vias(m).map((v) => `${v.transport} ${v.host}`), ['UDP 192.0.2.2', 'TCP spindle.example.com', 'UDP 192.168.255.111']);
    assert.equal(header(m, 'newfangledheader'), 'newfangled value continued newfangled value');
    assert.equal(header(m, 'subject'), '');
    assert.equal(headerValues(m, 'contact').length, 1);
  });

  it('§3.1.1.2-style: an unknown method with a body is a request like any other', () => {
    const m = msg('NEWMETHOD sip:user@example.com SIP/2.0\nTo: sip:j.user@example.com\nFrom: sip:caller@example.net;tag=134161461246\nMax-Forwards: 7\nCall-ID: nm.1\nCSeq: 8 NEWMETHOD\nVia: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw\nContent-Length: 5\n\nhello');
    assert.equal(m.kind === 'request' && m.method, 'NEWMETHOD');
    assert.equal(m.body.toString(), 'hello');
  });

  it('§3.1.1.6-style: a non-SIP Request-URI (tel:) and a To with a tel: URI parse', () => {
    const m = msg('OPTIONS tel:+1-201-555-0123 SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nMax-Forwards: 70\nFrom: <sip:a@h>;tag=1\nTo: <tel:+1-201-555-0123>\nCall-ID: t.1\nCSeq: 1 OPTIONS\n\n');
    assert.equal(to(m).uri, 'tel:+1-201-555-0123');
  });

  const invalid: Array<[string, string, RegExp]> = [
    ['§3.1.2.1-style: Content-Length larger than the message', 'INVITE sip:a@h SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nMax-Forwards: 70\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>\nCall-ID: c\nCSeq: 1 INVITE\nContent-Length: 9999\n\nv=0\n', /Content-Length 9999 exceeds body length 5/],
    ['§3.1.2.2-style: negative Content-Length', 'INVITE sip:a@h SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nMax-Forwards: 70\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>\nCall-ID: c\nCSeq: 1 INVITE\nContent-Length: -999\n\n', /Content-Length "-999" is not a decimal number/],
    ['§3.1.2.6-style: unterminated quoted display name', 'INVITE sip:a@h SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nMax-Forwards: 70\nFrom: "Bob <sip:a@h>;tag=1\nTo: <sip:b@h>\nCall-ID: c\nCSeq: 1 INVITE\n\n', /unterminated quoted display name/],
    ['§3.1.2.9-style: multiple SP separating request-line elements', 'INVITE  sip:a@h SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nMax-Forwards: 70\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>\nCall-ID: c\nCSeq: 1 INVITE\n\n', /request line .* single spaces/],
    ['§3.1.2.13-style: unknown protocol version', 'OPTIONS sip:a@h SIP/7.0\nVia: SIP/7.0/UDP h;branch=z9hG4bK1\nMax-Forwards: 70\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>\nCall-ID: c\nCSeq: 1 OPTIONS\n\n', /SIP version "SIP\/7.0"/],
    ['§3.1.2.15-style: CSeq method mismatch', 'OPTIONS sip:a@h SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nMax-Forwards: 70\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>\nCall-ID: c\nCSeq: 1 INVITE\n\n', /CSeq method "INVITE" does not match request method "OPTIONS"/],
  ];
  for (const [name, text, why] of invalid) {
    it(`${name} is rejected with a message naming it`, () => {
      assert.throws(() => msg(text), (e: unknown) => e instanceof TonewallError && why.test(e.message));
    });
  }
});
