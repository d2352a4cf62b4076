/**
 * The RFC 4475 and RFC 5118 torture messages (test/fixtures/sip-torture/, byte-exact per RFC 4475
 * §2): for each, what the parser does (accept, or reject with a message naming the fault) and, for
 * requests, what our user agent answers when the datagram arrives through the real transaction
 * layer: 400 with a Warning naming the fault, 505 for another SIP version, 416 for an unknown
 * Request-URI scheme, 420 for an unknown Require, 415/406 for bodies we cannot read or answers we
 * may not send, 501 for an unknown method, 405 for a method we know but do not serve (REGISTER:
 * the appliance is no registrar), 480 for a good INVITE nobody takes (no call manager in this
 * test; 481 for an in-dialog request of no dialog). Responses are never answered; a malformed one
 * is dropped.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TonewallError } from '../../../hw/base/errors';
import { nullLogger } from '../../../hw/base/logger';
import { configSchema } from '../../../controller/config/schema';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { parseMessage } from '../../../controller/sip/core/messages/parser';
import { from, header, headerValues, to, vias, type SipMessage } from '../../../controller/sip/core/messages/message';
import { parseNameAddr } from '../../../controller/sip/core/messages/name-addr';
import { parseSipUri } from '../../../controller/sip/core/messages/uri';
import { ManualClock } from '../../lib/manual-clock';
import { FakeSipTransport } from '../../lib/sip-fake-transport';

const DIR = resolve(__dirname, '../../../../test/fixtures/sip-torture');
const raw = (name: string): Buffer => readFileSync(join(DIR, `${name}.dat`));
const user = (uri: string): string => decodeURIComponent(parseSipUri(uri).user ?? '');

interface Case {
  /** RFC section. */
  ref: string;
  /** accept: parses; reject: the parser refuses with `code` and a message matching `why`. */
  parse: 'accept' | { code: string; why: RegExp };
  /** The UA's final answer to the request; 'none': nothing is sent (a response, or no answer possible). */
  answer: number | 'none';
  check?: (m: SipMessage) => void;
  /** Checks on the answer. */
  answered?: (res: SipMessage) => void;
}

const CASES: Record<string, Case> = {
  // RFC 4475 §3.1.1: valid messages
  wsinv: { ref: '4475 §3.1.1.1 (its To carries a tag: a re-INVITE for no dialog, 481 by §12.2.2)', parse: 'accept', answer: 481, check: (m) => {
    assert.equal(header(m, 'max-forwards'), '0068');
    assert.deepEqual(vias(m).map((v) => `${v.transport} ${v.host}`), ['UDP 192.0.2.2', 'TCP spindle.example.com', 'UDP 192.168.255.111']);
    assert.equal(from(m).displayName, 'J Rosenberg \\"');
    assert.equal(to(m).params.get('tag'), '1918181833n');
    assert.equal(header(m, 'newfangledheader'), 'newfangled value continued newfangled value');
  } },
  intmeth: { ref: '4475 §3.1.1.2', parse: 'accept', answer: 501, check: (m) => {
    assert.equal(m.kind === 'request' && m.method, "!interesting-Method0123456789_*+`.%indeed'~");
    assert.equal(to(m).displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
    assert.equal(from(m).params.get("fromparam''~+*_!.-%"), '"работающий"');
    assert.equal(header(m, "extensionheader-!.%*+_`'~"), '\ufeff大停電');
  } },
  esc01: { ref: '4475 §3.1.1.3', parse: 'accept', answer: 480, check: (m) => {
    assert.equal(m.kind === 'request' && user(m.uri), 'sips:user@example.com');
    assert.equal(user(to(m).uri), 'user');
    assert.equal(user(from(m).uri), 'I have spaces');
    const contact = parseSipUri(parseNameAddr(header(m, 'contact') ?? '').uri);
    assert.equal(decodeURIComponent([...contact.params.keys()][0] ?? ''), 'lr');
    assert.equal(decodeURIComponent(contact.params.get('n%61me') ?? ''), 'value%41');
  } },
  escnull: { ref: '4475 §3.1.1.4', parse: 'accept', answer: 405, check: (m) => {
    assert.equal(user(to(m).uri), 'null-\x00-null');
    assert.deepEqual(headerValues(m, 'contact').map((c) => user(parseNameAddr(c).uri)), ['\x00', '\x00\x00']);
  } },
  esc02: { ref: '4475 §3.1.1.5', parse: 'accept', answer: 501, check: (m) => {
    assert.equal(m.kind === 'request' && m.method, 'RE%47IST%45R', 'not REGISTER');
    assert.equal(to(m).displayName, '%Z%45');
    assert.equal(headerValues(m, 'contact').length, 2, 'C%6Fntact is another header, not Contact');
  } },
  lwsdisp: { ref: '4475 §3.1.1.6', parse: 'accept', answer: 200, check: (m) => assert.equal(from(m).displayName, 'caller') },
  longreq: { ref: '4475 §3.1.1.7', parse: 'accept', answer: 480, check: (m) => {
    assert.equal(vias(m).length, 34);
    assert.equal(to(m).params.size, 0);
    assert.equal(parseSipUri(to(m).uri).params.size, 3);
  } },
  dblreq: { ref: '4475 §3.1.1.8', parse: 'accept', answer: 405, check: (m) => assert.equal(m.kind === 'request' && m.method, 'REGISTER', 'the trailing INVITE is not a message of its own') },
  semiuri: { ref: '4475 §3.1.1.9', parse: 'accept', answer: 200, check: (m) => assert.equal(m.kind === 'request' && parseSipUri(m.uri).user, 'user;par=u%40example.net') },
  transports: { ref: '4475 §3.1.1.10', parse: 'accept', answer: 200, check: (m) => assert.deepEqual(vias(m).map((v) => v.transport), ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']) },
  unreason: { ref: '4475 §3.1.1.12', parse: 'accept', answer: 'none', check: (m) => assert.equal(m.kind === 'response' && m.reason, '= 2**3 * 5**2 но сто девяносто девять - простое') },
  noreason: { ref: '4475 §3.1.1.13', parse: 'accept', answer: 'none', check: (m) => assert.deepEqual(m.kind === 'response' && [m.status, m.reason], [100, '']) },
  // §3.1.2: invalid messages
  badinv01: { ref: '4475 §3.1.2.1', parse: { code: 'ESIPHEADER', why: /Via value .* has an empty list element/ }, answer: 'none' },
  clerr: { ref: '4475 §3.1.2.2', parse: { code: 'ESIPLENGTH', why: /Content-Length 9999 exceeds body length 154/ }, answer: 400 },
  ncl: { ref: '4475 §3.1.2.3', parse: { code: 'ESIPLENGTH', why: /Content-Length "-999" is not a decimal number/ }, answer: 400 },
  scalar02: { ref: '4475 §3.1.2.4', parse: { code: 'ESIPHEADER', why: /CSeq "36893488147419103232 REGISTER": expected "<number below 2\^31> <method>"/ }, answer: 'none' },
  scalarlg: { ref: '4475 §3.1.2.5', parse: { code: 'ESIPHEADER', why: /CSeq "9292394834772304023312 OPTIONS"/ }, answer: 'none' },
  quotbal: { ref: '4475 §3.1.2.6', parse: { code: 'ESIPHEADER', why: /unterminated quoted display name/ }, answer: 'none' },
  ltgtruri: { ref: '4475 §3.1.2.7', parse: { code: 'ESIPSTART', why: /Request-URI "<sip:user@example.com>" is not an absolute URI/ }, answer: 400 },
  lwsruri: { ref: '4475 §3.1.2.8', parse: { code: 'ESIPSTART', why: /with single spaces/ }, answer: 400 },
  lwsstart: { ref: '4475 §3.1.2.9', parse: { code: 'ESIPSTART', why: /with single spaces/ }, answer: 400 },
  trws: { ref: '4475 §3.1.2.10', parse: { code: 'ESIPSTART', why: /with single spaces/ }, answer: 400 },
  escruri: { ref: '4475 §3.1.2.11', parse: { code: 'ESIPSTART', why: /carries headers \("\?Route=%3Csip:example.com%3E"\), which a Request-URI may not/ }, answer: 400 },
  baddate: { ref: '4475 §3.1.2.12', parse: 'accept', answer: 480, check: (m) => assert.equal(header(m, 'date'), 'Fri, 01 Jan 2010 16:00:00 EST') },
  regbadct: { ref: '4475 §3.1.2.13', parse: 'accept', answer: 405, check: (m) => assert.equal(parseNameAddr(header(m, 'contact') ?? '').uri, 'sip:user@example.com?Route=%3Csip:sip.example.com%3E') },
  badaspec: { ref: '4475 §3.1.2.14 (liberal: the addr-spec is read without its spaces)', parse: 'accept', answer: 200, check: (m) => assert.equal(to(m).uri, 'sip:t.watson@example.org') },
  baddn: { ref: '4475 §3.1.2.15 (liberal: the unquoted display name is taken as written)', parse: 'accept', answer: 200, check: (m) => assert.equal(from(m).displayName, 'Bell, Alexander') },
  badvers: { ref: '4475 §3.1.2.16', parse: { code: 'ESIPVERSION', why: /SIP version "SIP\/7.0" is not SIP\/2.0/ }, answer: 505 },
  mismatch01: { ref: '4475 §3.1.2.17', parse: { code: 'ESIPCSEQ', why: /CSeq method "INVITE" does not match request method "OPTIONS"/ }, answer: 400 },
  mismatch02: { ref: '4475 §3.1.2.18 (400; the RFC accepts 400 or 501)', parse: { code: 'ESIPCSEQ', why: /does not match request method "NEWMETHOD"/ }, answer: 400 },
  bigcode: { ref: '4475 §3.1.2.19', parse: { code: 'ESIPSTART', why: /status line "SIP\/2.0 4294967301 better not break the receiver": expected "SIP\/2.0 <3-digit code> <reason>"/ }, answer: 'none' },
  // §3.2: transaction layer
  badbranch: { ref: '4475 §3.2.1 (the branch is taken as given)', parse: 'accept', answer: 200, check: (m) => assert.equal(vias(m)[0]?.params.get('branch'), 'z9hG4bK') },
  // §3.3: application layer
  insuf: { ref: '4475 §3.3.1 (no To/From/Call-ID: no response can be built, the datagram is dropped and counted)', parse: { code: 'ESIPMISSING', why: /missing mandatory header To/ }, answer: 'none' },
  unkscm: { ref: '4475 §3.3.2', parse: 'accept', answer: 416 },
  novelsc: { ref: '4475 §3.3.3', parse: 'accept', answer: 416 },
  unksm2: { ref: '4475 §3.3.4 (no registrar here)', parse: 'accept', answer: 405, check: (m) => assert.equal(to(m).uri, 'isbn:2983792873') },
  bext01: { ref: '4475 §3.3.5', parse: 'accept', answer: 420, answered: (res) => assert.deepEqual(headerValues(res, 'unsupported'), ['nothingSupportsThis', 'nothingSupportsThisEither']) },
  invut: { ref: '4475 §3.3.6', parse: 'accept', answer: 415, answered: (res) => assert.equal(header(res, 'accept'), 'application/sdp') },
  regaut01: { ref: '4475 §3.3.7 (no registrar here)', parse: 'accept', answer: 405 },
  multi01: { ref: '4475 §3.3.8', parse: { code: 'ESIPDUPLICATE', why: /header To appears 2 times; it may appear once/ }, answer: 400 },
  mcl01: { ref: '4475 §3.3.9', parse: { code: 'ESIPDUPLICATE', why: /header Content-Length appears 2 times/ }, answer: 400 },
  bcast: { ref: '4475 §3.3.10 (a response matching no transaction is dropped)', parse: 'accept', answer: 'none', check: (m) => assert.equal(vias(m)[1]?.host, '255.255.255.255') },
  zeromf: { ref: '4475 §3.3.11 (Max-Forwards 0 stops proxies, not a UAS)', parse: 'accept', answer: 200 },
  cparam01: { ref: '4475 §3.3.12', parse: 'accept', answer: 405, check: (m) => assert.equal(parseNameAddr(header(m, 'contact') ?? '').params.has('unknownparam'), true, 'addr-spec: the parameter is the header field\'s') },
  cparam02: { ref: '4475 §3.3.12', parse: 'accept', answer: 405, check: (m) => assert.equal(parseSipUri(parseNameAddr(header(m, 'contact') ?? '').uri).params.has('unknownparam'), true, 'name-addr: the parameter is the URI\'s') },
  regescrt: { ref: '4475 §3.3.13', parse: 'accept', answer: 405 },
  sdp01: { ref: '4475 §3.3.14', parse: 'accept', answer: 406, answered: (res) => assert.equal(header(res, 'accept'), 'application/sdp') },
  // §3.4: backward compatibility
  inv2543: { ref: '4475 §3.4.1 (RFC 2543 INVITE: no Max-Forwards, no branch cookie)', parse: 'accept', answer: 480 },
  // RFC 5118 §4
  'ipv6-good': { ref: '5118 §4.1', parse: 'accept', answer: 405, check: (m) => {
    assert.deepEqual(m.kind === 'request' && (({ host, ipv6, port }) => ({ host, ipv6, port }))(parseSipUri(m.uri)), { host: '2001:db8::10', ipv6: true, port: undefined });
    assert.equal(vias(m)[0]?.host, '2001:db8::9:1');
    assert.equal(parseSipUri(parseNameAddr(header(m, 'contact') ?? '').uri).host, '2001:db8::1');
  } },
  'ipv6-bad': { ref: '5118 §4.2', parse: { code: 'ESIPSTART', why: /Request-URI: SIP URI "sip:2001:db8::10": port "db8::10" is not a number/ }, answer: 400 },
  'port-ambiguous': { ref: '5118 §4.3', parse: 'accept', answer: 405, check: (m) => assert.deepEqual(m.kind === 'request' && [parseSipUri(m.uri).host, parseSipUri(m.uri).port], ['2001:db8::10:5070', undefined]) },
  'port-unambiguous': { ref: '5118 §4.4', parse: 'accept', answer: 405, check: (m) => assert.deepEqual(m.kind === 'request' && [parseSipUri(m.uri).host, parseSipUri(m.uri).port], ['2001:db8::10', 5070]) },
  'via-received-param-with-delim': { ref: '5118 §4.5', parse: 'accept', answer: 481, check: (m) => assert.equal(vias(m)[0]?.params.get('received'), '[2001:db8::9:255]') },
  'via-received-param-no-delim': { ref: '5118 §4.5', parse: 'accept', answer: 200, check: (m) => assert.equal(vias(m)[0]?.params.get('received'), '2001:db8::9:255') },
  'ipv6-in-sdp': { ref: '5118 §4.6', parse: 'accept', answer: 480, check: (m) => assert.match(m.body.toString(), /c=IN IP6 2001:db8::20/) },
  'mult-ip-in-header': { ref: '5118 §4.7', parse: 'accept', answer: 481, check: (m) => assert.deepEqual(vias(m).map((v) => [v.host, v.port ?? null]), [['2001:db8::9:1', 6050], ['192.0.2.1', null], ['2001:db8::9:255', null]]) },
  'mult-ip-in-sdp': { ref: '5118 §4.8', parse: 'accept', answer: 480 },
  'ipv4-mapped-ipv6': { ref: '5118 §4.9', parse: 'accept', answer: 480, check: (m) => assert.deepEqual([vias(m)[0]?.host, vias(m)[0]?.port], ['::ffff:192.0.2.10', 19823]) },
  'ipv6-bug-abnf-3-colons': { ref: '5118 §4.10 (three colons is no IPv6 address, RFC 4291 §2.2)', parse: { code: 'ESIPSTART', why: /"2001:db8:::192.0.2.1" is not an IPv6 address/ }, answer: 400 },
  'ipv6-correct-abnf-2-colons': { ref: '5118 §4.10', parse: 'accept', answer: 200, check: (m) => assert.equal(m.kind === 'request' && parseSipUri(m.uri).host, '2001:db8::192.0.2.1') },
};

/**
 * The fake transport parses what we send with our own (2.0-only) parser; a 505 must copy the
 * request's `SIP/7.0/UDP` Via (§8.2.6.2), so for the check only that version is read as 2.0.
 */
class TortureTransport extends FakeSipTransport {
  override send(data: Buffer, address: string, port: number): void {
    try {
      super.send(data, address, port);
    } catch (err) {
      const text = data.toString('utf8');
      if (!text.startsWith('SIP/2.0 505 ')) throw err;
      this.sent.push({ msg: parseMessage(Buffer.from(text.replace(/^Via: SIP\/7\.0\//m, 'Via: SIP/2.0/'))), raw: data, address, port });
    }
  }
}

async function answerTo(data: Buffer): Promise<SipMessage[]> {
  const clock = new ManualClock();
  const transport = new TortureTransport();
  const ua = new SipUserAgent({ config: configSchema.parse({}).sip, log: nullLogger, clock, transport });
  await ua.start();
  transport.inject(data);
  clock.advance(50);
  const finals = transport.sent.filter((x) => x.msg.kind === 'response' && x.msg.status >= 200);
  for (const f of finals) rawOf.set(f.msg, f.raw.toString('utf8'));
  await ua.stop();
  return finals.map((f) => f.msg);
}

const rawOf = new WeakMap<SipMessage, string>();
const finalsRaw = (m: SipMessage): string => rawOf.get(m) ?? '';

describe('SIP torture messages: RFC 4475 and RFC 5118 (test/fixtures/sip-torture)', () => {
  it('every fixture has a case and every case a fixture', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.dat')).map((f) => f.slice(0, -4)).sort();
    assert.deepEqual(files, Object.keys(CASES).sort());
    assert.equal(files.length, 60);
  });

  for (const [name, c] of Object.entries(CASES)) {
    const what = c.parse === 'accept' ? 'parses' : `is rejected (${c.parse.code})`;
    const answer = c.answer === 'none' ? 'no answer' : `answer ${c.answer}`;
    it(`${name} (RFC ${c.ref}): ${what}, ${answer}`, async () => {
      const data = raw(name);
      if (c.parse === 'accept') {
        const m = parseMessage(data);
        c.check?.(m);
      } else {
        const { code, why } = c.parse;
        assert.throws(() => parseMessage(data), (e: unknown) => e instanceof TonewallError && e.code === code && why.test(e.message));
      }
      const finals = await answerTo(data);
      if (c.answer === 'none') {
        assert.deepEqual(finals.map((r) => r.kind === 'response' && r.status), []);
        return;
      }
      assert.equal(finals.length, 1, `one final response (got ${finals.map((r) => r.kind === 'response' && r.status).join(', ') || 'none'})`);
      const res = finals[0];
      assert.ok(res?.kind === 'response');
      assert.equal(res.status, c.answer);
      if (res.status === 400 || res.status === 505) assert.match(header(res, 'warning') ?? '', /^399 \S+ ".{10,}"$/, 'the Warning names the fault');
      if (res.status === 505) assert.match(finalsRaw(res), /^Via: SIP\/7\.0\/UDP c\.example\.com/m, 'the 505 copies the request\'s Via');
      c.answered?.(res);
    });
  }
});
