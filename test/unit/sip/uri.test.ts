import assert from 'node:assert/strict';
import { TonewallError } from '../../../hw/base/errors';
import { formatSipUri, parseSipUri } from '../../../controller/sip/core/messages/uri';
import { formatNameAddr, parseNameAddr } from '../../../controller/sip/core/messages/name-addr';

function throwsUri(text: string, why: RegExp): void {
  assert.throws(() => parseSipUri(text), (e: unknown) => e instanceof TonewallError && e.code === 'ESIPURI' && why.test(e.message));
}

describe('SIP URIs (RFC 3261 §19.1)', () => {
  it('§19.1.1 parses user, password, host, port, parameters and headers', () => {
    const u = parseSipUri('sip:alice:secret@atlanta.com:5070;transport=udp;lr?subject=project%20x');
    assert.equal(u.scheme, 'sip');
    assert.equal(u.user, 'alice');
    assert.equal(u.password, 'secret');
    assert.equal(u.host, 'atlanta.com');
    assert.equal(u.port, 5070);
    assert.equal(u.params.get('transport'), 'udp');
    assert.equal(u.params.get('lr'), null);
    assert.equal(u.headers, 'subject=project%20x');
  });

  it('§19.1.1 sips: and IPv6 references with port', () => {
    const u = parseSipUri('SIPS:bob@[2001:db8::10]:5061');
    assert.equal(u.scheme, 'sips');
    assert.equal(u.host, '2001:db8::10');
    assert.equal(u.ipv6, true);
    assert.equal(u.port, 5061);
    assert.equal(formatSipUri(u), 'sips:bob@[2001:db8::10]:5061');
  });

  it('§19.1.1 a user part may hold ";" and escaped "@" (telephone-subscriber style)', () => {
    const u = parseSipUri('sip:+1-212-555-1212;isub=1;x=y%40z@gateway.example.com;user=phone');
    assert.equal(u.user, '+1-212-555-1212;isub=1;x=y%40z');
    assert.equal(u.host, 'gateway.example.com');
    assert.equal(u.params.get('user'), 'phone');
  });

  it('§19.1.4 parameter names compare case-insensitively', () => {
    assert.equal(parseSipUri('sip:h;TRANSPORT=TCP').params.get('transport'), 'TCP');
  });

  it('round-trips through formatSipUri', () => {
    for (const text of ['sip:100@127.0.0.1:5080', 'sip:h', 'sip:a@h;lr', 'sips:a@[::1]:5061;transport=tls']) {
      assert.equal(formatSipUri(parseSipUri(text)), text);
    }
  });

  it('errors name the bad part', () => {
    throwsUri('http://example.com', /scheme "http" is not sip or sips/);
    throwsUri('sip:a@h:99999', /port 99999 exceeds 65535/);
    throwsUri('sip:a@h:5x', /port "5x" is not a number/);
    throwsUri('sip:a@[2001:db8::1', /lacks the closing "\]"/);
    throwsUri('sip:a@bad_host!', /host "bad_host!"/);
    throwsUri('sip:@h', /empty user part/);
    throwsUri('sip:a b@h', /whitespace/);
    throwsUri('sip:a%4@h', /bad %-escape/);
  });
});

describe('name-addr and addr-spec (RFC 3261 §20.10, §20.20, §20.39)', () => {
  it('token display names and parameters after the angle bracket', () => {
    const na = parseNameAddr('Alice Smith <sip:a@h;lr>;tag=88;expires=60');
    assert.equal(na.displayName, 'Alice Smith');
    assert.equal(na.uri, 'sip:a@h;lr');
    assert.equal(na.params.get('tag'), '88');
    assert.equal(na.params.get('expires'), '60');
  });

  it('quotes display names with quotes and backslashes when formatting', () => {
    const text = formatNameAddr({ displayName: 'A "B" \\ C', uri: 'sip:a@h', params: new Map([['tag', 'x']]) });
    assert.equal(text, '"A \\"B\\" \\\\ C" <sip:a@h>;tag=x');
    assert.equal(parseNameAddr(text).displayName, 'A "B" \\ C');
  });

  it('accepts non-SIP absolute URIs (tel:)', () => {
    assert.equal(parseNameAddr('<tel:+15551234>').uri, 'tel:+15551234');
  });

  it('errors name the value', () => {
    assert.throws(() => parseNameAddr('"unterminated <sip:a@h>'), /unterminated quoted display name/);
    assert.throws(() => parseNameAddr('<sip:a@h'), /missing ">"/);
    assert.throws(() => parseNameAddr('<not a uri>'), /"not a uri" is not an absolute URI/);
    assert.throws(() => parseNameAddr('<sip:a@h> junk'), /unexpected "junk"/);
  });
});
