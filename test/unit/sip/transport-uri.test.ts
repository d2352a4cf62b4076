/**
 * Which transport a URI asks for (RFC 3261 §19.1.4 `transport`, §26.2.1 sips:), and the user
 * agent refusing a Request-URI that names a transport it does not run.
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { configSchema } from '../../../controller/config/schema';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { explicitTransportForUri, transportForUri, trunkProtocols } from '../../../controller/sip/core/transport-factory';
import { FakeSipTransport } from '../../lib/sip-fake-transport';

describe('transport selection by URI', () => {
  it('§19.1.4/§26.2.1: sips: → TLS, ;transport=tcp|tls|udp, plain sip: → UDP (and "not explicit")', () => {
    assert.equal(transportForUri('sips:1@cc.example.net'), 'TLS');
    assert.equal(transportForUri('sip:1@10.0.0.1;transport=TCP'), 'TCP');
    assert.equal(transportForUri('sip:1@10.0.0.1;transport=tls'), 'TLS');
    assert.equal(transportForUri('sip:1@10.0.0.1'), 'UDP');
    assert.equal(explicitTransportForUri('sip:1@10.0.0.1'), undefined);
    assert.equal(explicitTransportForUri('sip:1@10.0.0.1;transport=udp'), 'UDP');
    assert.throws(() => transportForUri('sip:1@10.0.0.1;transport=sctp'), /asks for transport "sctp"; expected udp, tcp or tls/);
  });

  it('the user agent refuses a Request-URI naming another transport than its own, and sends a plain sip: URI over its own', async () => {
    const transport = new FakeSipTransport();
    const ua = new SipUserAgent({ config: configSchema.parse({}).sip, log: nullLogger, transport });
    await ua.start();
    const sdp = 'v=0\r\n';
    assert.throws(() => ua.invite({ requestUri: 'sips:1@127.0.0.1:5061', fromUser: '2', sdpOffer: sdp }), /asks for TLS but this user agent runs UDP/);
    assert.throws(() => ua.invite({ requestUri: 'sip:1@127.0.0.1;transport=tcp', fromUser: '2', sdpOffer: sdp }), /asks for TCP/);
    ua.invite({ requestUri: 'sip:1@127.0.0.1:5080', fromUser: '2', sdpOffer: sdp });
    assert.equal(transport.requests('INVITE').length, 1);
    await ua.stop();
  });
});

describe('per-trunk transports: trunkProtocols', () => {
  const cfg = (transport: 'udp' | 'tcp' | 'tls', uris: string[], cc = 'sip:{called}@192.0.2.1'): Parameters<typeof trunkProtocols>[0] =>
    configSchema.parse({ sip: { transport, contactCenterUri: cc, trunks: uris.map((uri, i) => ({ name: `t${i}`, uri })) } }).sip;

  it('opens beside the primary the transports the trunk URIs name, each once, UDP/TCP/TLS order', () => {
    assert.deepEqual(trunkProtocols(cfg('udp', ['sips:{called}@a.example', 'sip:{called}@b.example;transport=tcp', 'sip:{called}@c.example']), 'UDP'), ['TCP', 'TLS']);
    assert.deepEqual(trunkProtocols(cfg('tcp', ['sip:{called}@a.example;transport=tcp', 'sip:{called}@b.example;transport=udp']), 'TCP'), ['UDP']);
    assert.deepEqual(trunkProtocols(cfg('udp', ['sip:{called}@a.example', 'sip:{called}@b.example']), 'UDP'), []);
  });

  it('without trunks, the contact center URI is the one implicit trunk', () => {
    assert.deepEqual(trunkProtocols(cfg('udp', [], 'sips:{called}@cc.example'), 'UDP'), ['TLS']);
  });
});
