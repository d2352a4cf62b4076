import assert from 'node:assert/strict';
import { Dialog, uriDestination } from '../../../controller/sip/core/dialogs/dialog';
import { buildResponse } from '../../../controller/sip/core/messages/build';
import { addHeader, cseq, header, headerValues, newRequest, type SipRequest } from '../../../controller/sip/core/messages/message';
import { parseNameAddr } from '../../../controller/sip/core/messages/name-addr';
import { ManualClock } from '../../lib/manual-clock';

function invite(): SipRequest {
  const req = newRequest('INVITE', 'sip:100@192.0.2.10');
  addHeader(req, 'Via', 'SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKd1');
  addHeader(req, 'Max-Forwards', '70');
  addHeader(req, 'From', '"A" <sip:555@192.0.2.1>;tag=local1');
  addHeader(req, 'To', '<sip:100@192.0.2.10>');
  addHeader(req, 'Call-ID', 'dlg-1');
  addHeader(req, 'CSeq', '7 INVITE');
  addHeader(req, 'Contact', '<sip:555@192.0.2.1:5062>');
  addHeader(req, 'Record-Route', '<sip:p1.example;lr>, <sip:p2.example:5070;lr>');
  return req;
}

describe('dialogs (RFC 3261 §12)', () => {
  const clock = new ManualClock();

  it('§12.1.2 UAC: route set is the reversed Record-Route, remote target the Contact, CSeq continues from the INVITE', () => {
    const inv = invite();
    const ok = buildResponse(inv, 200, undefined, { toTag: 'remote1' });
    for (const rr of headerValues(inv, 'record-route')) addHeader(ok, 'Record-Route', rr);
    addHeader(ok, 'Contact', '<sip:agent@192.0.2.10:5099;transport=udp>');
    const d = Dialog.fromUac(inv, ok, clock);
    assert.equal(d.id, 'dlg-1;local1;remote1');
    assert.deepEqual(d.routeSet, ['<sip:p2.example:5070;lr>', '<sip:p1.example;lr>']);
    assert.equal(d.remoteTarget, 'sip:agent@192.0.2.10:5099;transport=udp');
    assert.deepEqual(d.destination(), { address: 'p2.example', port: 5070 });
    const ack = d.createRequest('ACK', 7);
    assert.deepEqual(cseq(ack), { seq: 7, method: 'ACK' });
    const bye = d.createRequest('BYE');
    assert.deepEqual(cseq(bye), { seq: 8, method: 'BYE' });
    assert.equal(bye.uri, 'sip:agent@192.0.2.10:5099;transport=udp');
    assert.deepEqual(headerValues(bye, 'route'), ['<sip:p2.example:5070;lr>', '<sip:p1.example;lr>']);
    assert.equal(parseNameAddr(header(bye, 'from') ?? '').params.get('tag'), 'local1');
    assert.equal(parseNameAddr(header(bye, 'to') ?? '').params.get('tag'), 'remote1');
  });

  it('§12.1.1 UAS: route set in Record-Route order, remote CSeq from the INVITE, our tag on To; §12.2.2 rejects a lower CSeq', () => {
    const inv = invite();
    const d = Dialog.fromUas(inv, 'mine', clock);
    assert.deepEqual(d.routeSet, ['<sip:p1.example;lr>', '<sip:p2.example:5070;lr>']);
    assert.equal(d.remoteTarget, 'sip:555@192.0.2.1:5062');
    const bye = d.createRequest('BYE');
    assert.deepEqual(cseq(bye), { seq: 1, method: 'BYE' });
    assert.equal(parseNameAddr(header(bye, 'from') ?? '').params.get('tag'), 'mine');
    const inDialog = newRequest('BYE', 'sip:100@192.0.2.10');
    addHeader(inDialog, 'From', '<sip:555@192.0.2.1>;tag=local1');
    addHeader(inDialog, 'To', '<sip:100@192.0.2.10>;tag=mine');
    addHeader(inDialog, 'Call-ID', 'dlg-1');
    addHeader(inDialog, 'CSeq', '6 BYE');
    assert.equal(d.matchesRequest(inDialog), true);
    assert.equal(d.acceptRemoteSeq(inDialog), false, 'CSeq 6 < 7');
  });

  it('a 2xx without a To tag or Contact cannot make a dialog; the error names what is missing', () => {
    const inv = invite();
    const noTag = buildResponse(inv, 200);
    addHeader(noTag, 'Contact', '<sip:a@h>');
    assert.throws(() => Dialog.fromUac(inv, noTag, clock), /To of the 2xx "<sip:100@192.0.2.10>" has no tag/);
    const noContact = buildResponse(inv, 200, undefined, { toTag: 'x' });
    assert.throws(() => Dialog.fromUac(inv, noContact, clock), /200 response lacks the Contact header/);
  });

  it('§19.1.2 destinations: default ports 5060/5061, maddr honoured; §19.1.4/§26.2.1 the transport the URI names', () => {
    assert.deepEqual(uriDestination('sip:a@h'), { address: 'h', port: 5060 });
    assert.deepEqual(uriDestination('sips:a@h'), { address: 'h', port: 5061, protocol: 'TLS' });
    assert.deepEqual(uriDestination('sip:a@h:5070;maddr=192.0.2.9'), { address: '192.0.2.9', port: 5070 });
    assert.deepEqual(uriDestination('sip:a@h:5070;transport=TCP'), { address: 'h', port: 5070, protocol: 'TCP' });
    assert.deepEqual(uriDestination('sip:a@h;transport=udp'), { address: 'h', port: 5060, protocol: 'UDP' });
  });
  it('RFC 3262 §7.2: CSeq numbers used by PRACKs in the early dialog are skipped by the confirmed dialog', () => {
    const inv = invite();
    const ok = buildResponse(inv, 200, undefined, { toTag: 'remote1' });
    addHeader(ok, 'Contact', '<sip:agent@192.0.2.10:5099>');
    const d = Dialog.fromUac(inv, ok, clock, 9);
    assert.deepEqual(cseq(d.createRequest('BYE')), { seq: 10, method: 'BYE' });
  });

  it('§12.2: a target refresh (re-INVITE/UPDATE Contact) moves the remote target; without a Contact nothing changes', () => {
    const inv = invite();
    const ok = buildResponse(inv, 200, undefined, { toTag: 'remote1' });
    addHeader(ok, 'Contact', '<sip:agent@192.0.2.10:5099>');
    const d = Dialog.fromUac(inv, ok, clock);
    const refresh = newRequest('UPDATE', 'sip:555@192.0.2.1:5062');
    d.refreshTarget(refresh);
    assert.equal(d.remoteTarget, 'sip:agent@192.0.2.10:5099');
    addHeader(refresh, 'Contact', '"Agent" <sip:agent@192.0.2.20:5100>;expires=60');
    d.refreshTarget(refresh);
    assert.equal(d.remoteTarget, 'sip:agent@192.0.2.20:5100');
    assert.equal(d.createRequest('INFO').uri, 'sip:agent@192.0.2.20:5100');
    assert.equal(d.localUri, 'sip:555@192.0.2.1');
  });
});
