import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { TransactionLayer, type ServerTransaction } from '../../../controller/sip/core/transaction-layer';
import { buildResponse } from '../../../controller/sip/core/messages/build';
import { addHeader, header, newRequest, type SipRequest, type SipResponse } from '../../../controller/sip/core/messages/message';
import { InviteServerTransaction } from '../../../controller/sip/core/transactions/invite-server';
import { DEFAULT_SIP_TIMERS } from '../../../controller/sip/core/transactions/transaction';
import { ManualClock } from '../../lib/manual-clock';
import { FakeSipTransport } from '../../lib/sip-fake-transport';

const PEER = { address: '127.0.0.1', port: 5080 };

function request(method: string, branch = 'z9hG4bKtest1'): SipRequest {
  const req = newRequest(method, 'sip:100@127.0.0.1:5080');
  addHeader(req, 'Via', `SIP/2.0/UDP 127.0.0.1:5062;branch=${branch};rport`);
  addHeader(req, 'Max-Forwards', '70');
  addHeader(req, 'From', '<sip:555@127.0.0.1>;tag=f1');
  addHeader(req, 'To', '<sip:100@127.0.0.1:5080>');
  addHeader(req, 'Call-ID', 'call-1@127.0.0.1');
  addHeader(req, 'CSeq', `1 ${method}`);
  return req;
}

function response(req: SipRequest, status: number): SipResponse {
  return buildResponse(req, status, undefined, status > 100 ? { toTag: 't9' } : {});
}

function setup(): { clock: ManualClock; transport: FakeSipTransport; layer: TransactionLayer; got: SipResponse[]; timeouts: number[] } {
  const clock = new ManualClock();
  const transport = new FakeSipTransport();
  const layer = new TransactionLayer(transport, clock, nullLogger, DEFAULT_SIP_TIMERS);
  return { clock, transport, layer, got: [], timeouts: [] };
}

describe('RFC 3261 §17.1.1 INVITE client transaction', () => {
  it('§17.1.1.2 Timer A retransmits at T1, 2T1, 4T1… and Timer B (64*T1) reports a timeout', () => {
    const t = setup();
    const tx = t.layer.sendRequest(request('INVITE'), PEER, { onResponse: (r) => t.got.push(r), onTimeout: () => t.timeouts.push(t.clock.now()) });
    const sendTimes: number[] = [];
    const start = t.clock.now();
    const count = (): number => t.transport.requests('INVITE').length;
    let last = count();
    for (let ms = 0; ms < 40_000; ms += 100) {
      t.clock.advance(100);
      if (count() !== last) {
        sendTimes.push(t.clock.now() - start);
        last = count();
      }
    }
    assert.deepEqual(sendTimes, [500, 1500, 3500, 7500, 15500, 31500]);
    assert.deepEqual(t.timeouts.map((x) => x - start), [32_000]);
    assert.equal(tx.state, 'terminated');
    assert.equal(t.clock.pending, 0);
  });

  it('§17.1.1.2 a 1xx moves to Proceeding and stops retransmissions; 1xx is passed up', () => {
    const t = setup();
    const req = request('INVITE');
    const tx = t.layer.sendRequest(req, PEER, { onResponse: (r) => t.got.push(r), onTimeout: () => t.timeouts.push(1) });
    t.transport.inject(response(req, 180));
    assert.equal(tx.state, 'proceeding');
    t.clock.advance(60_000);
    assert.equal(t.transport.requests('INVITE').length, 1);
    assert.deepEqual(t.got.map((r) => r.status), [180]);
    assert.deepEqual(t.timeouts, []);
  });

  it('§17.1.1.3 a non-2xx final response is ACKed by the transaction with the response To tag; a retransmission is re-ACKed and not passed up', () => {
    const t = setup();
    const req = request('INVITE');
    const tx = t.layer.sendRequest(req, PEER, { onResponse: (r) => t.got.push(r), onTimeout: () => t.timeouts.push(1) });
    const busy = response(req, 486);
    t.transport.inject(busy);
    assert.equal(tx.state, 'completed');
    const acks = t.transport.requests('ACK');
    assert.equal(acks.length, 1);
    const ack = acks[0];
    assert.ok(ack);
    assert.equal(ack.uri, req.uri);
    assert.equal(header(ack, 'via'), header(req, 'via'));
    assert.equal(header(ack, 'cseq'), '1 ACK');
    assert.match(header(ack, 'to') ?? '', /;tag=t9$/);
    t.transport.inject(busy);
    assert.equal(t.transport.requests('ACK').length, 2);
    assert.deepEqual(t.got.map((r) => r.status), [486]);
    t.clock.advance(32_000);
    assert.equal(tx.state, 'terminated');
  });

  it('§17.1.1.2 a 2xx terminates the transaction and goes to the TU; the transaction sends no ACK', () => {
    const t = setup();
    const req = request('INVITE');
    const tx = t.layer.sendRequest(req, PEER, { onResponse: (r) => t.got.push(r), onTimeout: () => t.timeouts.push(1) });
    t.transport.inject(response(req, 200));
    assert.equal(tx.state, 'terminated');
    assert.equal(t.transport.requests('ACK').length, 0);
    assert.deepEqual(t.got.map((r) => r.status), [200]);
  });
});

describe('RFC 3261 §17.1.2 non-INVITE client transaction', () => {
  it('§17.1.2.2 Timer E doubles up to T2 and Timer F (64*T1) times out', () => {
    const t = setup();
    t.layer.sendRequest(request('BYE'), PEER, { onResponse: (r) => t.got.push(r), onTimeout: () => t.timeouts.push(t.clock.now()) });
    const start = t.clock.now();
    const times: number[] = [];
    let last = 1;
    for (let ms = 0; ms < 33_000; ms += 100) {
      t.clock.advance(100);
      const n = t.transport.requests('BYE').length;
      if (n !== last) times.push(t.clock.now() - start);
      last = n;
    }
    assert.deepEqual(times.slice(0, 6), [500, 1500, 3500, 7500, 11500, 15500]);
    assert.deepEqual(t.timeouts.map((x) => x - start), [32_000]);
  });

  it('§17.1.2.2 in Proceeding retransmits every T2; a final response completes, Timer K (T4) terminates', () => {
    const t = setup();
    const req = request('BYE');
    const tx = t.layer.sendRequest(req, PEER, { onResponse: (r) => t.got.push(r), onTimeout: () => t.timeouts.push(1) });
    t.transport.inject(response(req, 100));
    assert.equal(tx.state, 'proceeding');
    t.clock.advance(4000);
    assert.equal(t.transport.requests('BYE').length, 2);
    t.transport.inject(response(req, 200));
    assert.equal(tx.state, 'completed');
    t.transport.inject(response(req, 200));
    assert.deepEqual(t.got.map((r) => r.status), [100, 200]);
    t.clock.advance(5000);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(t.timeouts, []);
  });
});

describe('RFC 3261 §17.2 server transactions', () => {
  function serverSetup(): { t: ReturnType<typeof setup>; txs: ServerTransaction[]; acks: SipRequest[] } {
    const t = setup();
    const txs: ServerTransaction[] = [];
    const acks: SipRequest[] = [];
    t.layer.core = { onRequest: (_r, tx) => txs.push(tx), onAck: (a) => acks.push(a), onStrayResponse: () => undefined };
    return { t, txs, acks };
  }

  it('§17.2.2 non-INVITE server: retransmitted request gets the last response again; Timer J (64*T1) terminates', () => {
    const { t, txs } = serverSetup();
    const bye = request('BYE', 'z9hG4bKbye1');
    t.transport.inject(bye);
    assert.equal(txs.length, 1);
    const tx = txs[0];
    assert.ok(tx);
    t.transport.inject(bye);
    assert.equal(t.transport.sent.length, 0, 'nothing to resend while Trying');
    tx.respond(buildResponse(tx.request, 200, undefined, { toTag: 'x' }));
    t.transport.inject(bye);
    assert.equal(t.transport.responses(200).length, 2);
    assert.equal(txs.length, 1, 'the retransmission did not reach the TU');
    t.clock.advance(32_000);
    assert.equal(tx.state, 'terminated');
  });

  it('§18.2.1 and RFC 3581: received and rport are added and the response goes to the source address and port', () => {
    const { t, txs } = serverSetup();
    const req = request('OPTIONS', 'z9hG4bKo1');
    t.transport.inject(req, { address: '127.0.0.9', port: 40000 });
    const tx = txs[0];
    assert.ok(tx);
    assert.match(header(tx.request, 'via') ?? '', /;received=127\.0\.0\.9/);
    assert.match(header(tx.request, 'via') ?? '', /;rport=40000/);
    tx.respond(buildResponse(tx.request, 200));
    const sent = t.transport.sent[0];
    assert.deepEqual(sent && { a: sent.address, p: sent.port }, { a: '127.0.0.9', p: 40000 });
  });

  it('§17.2.1 INVITE server: 100 at once; 486 retransmitted by Timer G until the ACK; ACK → Confirmed; Timer I terminates', () => {
    const { t, txs, acks } = serverSetup();
    const inv = request('INVITE', 'z9hG4bKinv1');
    t.transport.inject(inv);
    assert.equal(t.transport.responses(100).length, 1);
    const tx = txs[0];
    assert.ok(tx instanceof InviteServerTransaction);
    tx.respond(buildResponse(tx.request, 486, undefined, { toTag: 'u1' }));
    t.clock.advance(500);
    t.clock.advance(1000);
    assert.equal(t.transport.responses(486).length, 3);
    t.transport.inject(inv);
    assert.equal(t.transport.responses(486).length, 4, 'a retransmitted INVITE gets the final response again');
    const ack = request('ACK', 'z9hG4bKinv1');
    t.transport.inject(ack);
    assert.equal(tx.state, 'confirmed');
    assert.equal(acks.length, 0, 'the ACK for a non-2xx is absorbed by the transaction');
    t.clock.advance(5000);
    assert.equal(tx.state, 'terminated');
  });

  it('§17.2.1 Timer H: no ACK within 64*T1 terminates and tells the TU', () => {
    const { t, txs } = serverSetup();
    t.transport.inject(request('INVITE', 'z9hG4bKinv2'));
    const tx = txs[0];
    assert.ok(tx instanceof InviteServerTransaction);
    let timedOut = false;
    tx.onAckTimeout = () => (timedOut = true);
    tx.respond(buildResponse(tx.request, 480, undefined, { toTag: 'u2' }));
    t.clock.advance(31_999);
    assert.equal(timedOut, false);
    t.clock.advance(1);
    assert.equal(timedOut, true);
    assert.equal(tx.state, 'terminated');
    // Timer G: T1 doubling, capped at T2, until H: resent at 0.5, 1.5, 3.5, 7.5, 11.5 … 31.5 s.
    assert.equal(t.transport.responses(480).length, 1 + 10);
  });

  it('RFC 6026 §7.1: after a 2xx the INVITE server transaction is Accepted; a retransmitted INVITE is absorbed, not a new request; Timer L ends it', () => {
    const { t, txs } = serverSetup();
    const inv = request('INVITE', 'z9hG4bKinv3');
    t.transport.inject(inv);
    const tx = txs[0];
    assert.ok(tx instanceof InviteServerTransaction);
    const ok = buildResponse(tx.request, 200, undefined, { toTag: 'u3' });
    tx.respond(ok);
    assert.equal(tx.state, 'accepted');
    t.transport.inject(inv);
    assert.equal(txs.length, 1, 'no second request reached the TU');
    assert.equal(t.transport.responses(200).length, 1, 'the transaction does not retransmit the 2xx itself');
    tx.respond(ok);
    assert.equal(t.transport.responses(200).length, 2, "the TU's 2xx retransmission passes through");
    t.clock.advance(32_000);
    assert.equal(tx.state, 'terminated');
  });

  it('§17.2.3 an ACK for a 2xx (different branch) goes to the UA core', () => {
    const { t, acks } = serverSetup();
    t.transport.inject(request('ACK', 'z9hG4bKother'));
    assert.equal(acks.length, 1);
  });

  it('counts and drops unparseable datagrams that cannot be answered', () => {
    const { t, txs } = serverSetup();
    t.transport.inject(Buffer.from('garbage\r\n\r\n'));
    assert.equal(t.layer.counters.parseErrors, 1);
    assert.equal(txs.length, 0);
    assert.equal(t.transport.sent.length, 0);
  });

  it('§8.2 a malformed request is answered 400 with the parse error in a Warning, sent to its source', () => {
    const { t, txs } = serverSetup();
    const text = 'INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbad\r\nMax-Forwards: 70\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: bad-1\r\nCSeq: 1 INVITE\r\nContent-Length: 900\r\n\r\nv=0\r\n';
    t.transport.inject(Buffer.from(text), { address: '127.0.0.3', port: 40001 });
    assert.equal(txs.length, 0);
    const sent = t.transport.sent[0];
    assert.ok(sent && sent.msg.kind === 'response');
    assert.equal(sent.msg.status, 400);
    assert.deepEqual({ a: sent.address, p: sent.port }, { a: '127.0.0.3', p: 40001 });
    assert.equal(header(sent.msg, 'call-id'), 'bad-1');
    assert.match(header(sent.msg, 'to') ?? '', /;tag=/);
    assert.match(header(sent.msg, 'warning') ?? '', /^399 tonewall "Content-Length 900 exceeds body length 5"$/);
    t.transport.inject(Buffer.from(text.replace('INVITE sip', 'ACK sip').replace('1 INVITE', '1 ACK')));
    assert.equal(t.transport.sent.length, 1, 'a malformed ACK is never answered');
  });
});
