/**
 * Digest computation, RFC 7616 §3.9.1 (the MD5 and SHA-256 examples), RFC 2617 §3.5 without
 * qop, challenge parsing (RFC 7616 §3.3) and the Authorization value (§3.4).
 */
import assert from 'node:assert/strict';
import { digestResponse, formatAuthorization, parseAuthParams, parseChallenge, type DigestInput } from '../../../controller/sip/auth/digest';

const RFC7616: Omit<DigestInput, 'algorithm'> = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  method: 'GET',
  uri: '/dir/index.html',
  qop: 'auth',
  nc: '00000001',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
};

describe('Digest (RFC 7616, RFC 8760)', () => {
  it('RFC 7616 §3.9.1: the MD5 example response', () => {
    assert.equal(digestResponse({ ...RFC7616, algorithm: 'MD5' }), '8ca523f5e9506fed4657c9700eebdbec');
  });

  it('RFC 7616 §3.9.1: the SHA-256 example response', () => {
    assert.equal(digestResponse({ ...RFC7616, algorithm: 'SHA-256' }), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('RFC 2617 §3.5: the qop-less example (RFC 2069 compatible) response', () => {
    const r = digestResponse({
      algorithm: 'MD5', username: 'Mufasa', password: 'Circle Of Life', realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', method: 'GET', uri: '/dir/index.html', qop: undefined, nc: '', cnonce: '',
    });
    // H(H(A1):nonce:H(A2)) computed independently with Python's hashlib for these inputs.
    assert.equal(r, '670fd8c2df070c60b045671b8b24ff02');
  });

  it('-sess variants fold nonce and cnonce into HA1 (RFC 7616 §3.4.2), so the response differs from the plain one', () => {
    assert.notEqual(digestResponse({ ...RFC7616, algorithm: 'SHA-256-sess' }), digestResponse({ ...RFC7616, algorithm: 'SHA-256' }));
    assert.match(digestResponse({ ...RFC7616, algorithm: 'SHA-512-256' }), /^[0-9a-f]{64}$/);
  });

  it('RFC 7616 §3.3: parses a SHA-256 challenge with qop list, opaque, stale and quoted commas', () => {
    const ch = parseChallenge('Digest realm="a, b", qop="auth, auth-int", algorithm=SHA-256, nonce="n1", opaque="o1", stale=TRUE');
    assert.deepEqual(ch, { realm: 'a, b', nonce: 'n1', opaque: 'o1', algorithm: 'SHA-256', qop: ['auth', 'auth-int'], stale: true });
  });

  it('an absent algorithm means MD5 and an absent qop an RFC 2069 challenge', () => {
    const ch = parseChallenge('Digest realm="r",nonce="n"');
    assert.equal(ch.algorithm, 'MD5');
    assert.deepEqual(ch.qop, []);
    assert.equal(ch.stale, false);
  });

  it('refuses other schemes, unknown algorithms and challenges without nonce, naming the value', () => {
    assert.throws(() => parseChallenge('Basic realm="r"'), /expected the Digest scheme/);
    assert.throws(() => parseChallenge('Digest realm="r", nonce="n", algorithm=SHA-1'), /algorithm "SHA-1" is not one of/);
    assert.throws(() => parseChallenge('Digest realm="r"'), /realm and nonce are required/);
    assert.throws(() => parseAuthParams('realm="unterminated'), /expected name=value pairs/);
  });

  it('§3.4: the Authorization value carries username, realm, nonce, uri, response, algorithm, opaque, qop, nc, cnonce', () => {
    const ch = parseChallenge(`Digest realm="${RFC7616.realm}", qop="auth", algorithm=SHA-256, nonce="${RFC7616.nonce}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`);
    const value = formatAuthorization(ch, { ...RFC7616, algorithm: 'SHA-256' });
    const p = parseAuthParams(value.replace(/^Digest /, ''));
    assert.equal(p.get('username'), 'Mufasa');
    assert.equal(p.get('response'), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    assert.equal(p.get('opaque'), 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS');
    assert.equal(p.get('qop'), 'auth');
    assert.equal(p.get('nc'), '00000001');
    assert.equal(p.get('algorithm'), 'SHA-256');
    assert.doesNotMatch(value, /Circle of Life/, 'the password never appears');
  });
});
