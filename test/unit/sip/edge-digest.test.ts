/**
 * The edge's digest authentication of unknown sources (sip.edge.authenticateUnknown; RFC 3261
 * §22.4, RFC 7616 qop=auth, RFC 8760): challenged instead of dropped, admitted with the right
 * credentials (answered by our own UAC digest code), stale nonces re-challenged, replays and wrong
 * passwords counted and banned; ACK/CANCEL never challenged; passwords never in a log line.
 */
import assert from 'node:assert/strict';
import { configSchema } from '../../../controller/config/schema';
import { formatAuthorization, parseChallenge } from '../../../controller/sip/auth/digest';
import { header, headerValues, type SipRequest } from '../../../controller/sip/core/messages/message';
import { parseMessage } from '../../../controller/sip/core/messages/parser';
import type { RemoteInfo } from '../../../controller/sip/core/transport';
import { edgeTransport, type EdgeFilteredTransport } from '../../../controller/sip/edge/edge-transport';
import type { Logger } from '../../../hw/base/logger';
import { ManualClock } from '../../lib/manual-clock';
import { FakeSipTransport } from '../../lib/sip-fake-transport';

const STRANGER: RemoteInfo = { address: '198.51.100.7', port: 5070 };
const PASSWORD = 'Br4nch-s3cret';

function recordingLog(lines: string[]): Logger {
  const log: Logger = {
    trace: () => undefined,
    debug: (m, f) => void lines.push(`${m} ${JSON.stringify(f ?? {})}`),
    info: (m, f) => void lines.push(`${m} ${JSON.stringify(f ?? {})}`),
    warn: (m, f) => void lines.push(`${m} ${JSON.stringify(f ?? {})}`),
    error: (m, f) => void lines.push(`${m} ${JSON.stringify(f ?? {})}`),
    fatal: (m, f) => void lines.push(`${m} ${JSON.stringify(f ?? {})}`),
    child: () => log,
    isLevelEnabled: () => true,
  };
  return log;
}

function setup(extra: Record<string, unknown> = {}): { edge: EdgeFilteredTransport; inner: FakeSipTransport; clock: ManualClock; up: Buffer[]; lines: string[] } {
  const clock = new ManualClock();
  const inner = new FakeSipTransport();
  const lines: string[] = [];
  const config = configSchema.parse({
    sip: { edge: { allowLoopback: false, authenticateUnknown: { enabled: true, realm: 'branch.example', users: [{ username: 'cc-sbc', password: PASSWORD }], maxFailures: 3, ...extra } } },
  }).sip;
  const edge = edgeTransport(inner, config, clock, recordingLog(lines));
  const up: Buffer[] = [];
  edge.on('message', (d) => up.push(d));
  return { edge, inner, clock, up, lines };
}

let cseqNo = 1;
function invite(authz?: string, method = 'INVITE'): string {
  const n = cseqNo++;
  return [
    `${method} sip:2001@192.0.2.10 SIP/2.0`,
    `Via: SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bK-${n}`,
    'Max-Forwards: 70',
    'From: <sip:cc@198.51.100.7>;tag=f1',
    'To: <sip:2001@192.0.2.10>',
    'Call-ID: edge-auth-1',
    `CSeq: ${n} ${method}`,
    ...(authz ? [`Authorization: ${authz}`] : []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Our UAC digest code answering the challenge in `res` (algorithm `alg`). */
function answer(resText: SipRequest | ReturnType<typeof parseMessage>, alg: string, password: string, nc = '00000001', uri = 'sip:2001@192.0.2.10'): string {
  const value = headerValues(resText, 'www-authenticate').find((v) => v.includes(`algorithm=${alg}`));
  assert.ok(value, `a ${alg} challenge`);
  const ch = parseChallenge(value);
  return formatAuthorization(ch, { algorithm: ch.algorithm, username: 'cc-sbc', password, realm: ch.realm, nonce: ch.nonce, method: 'INVITE', uri, qop: 'auth', nc, cnonce: 'c0ffee01' });
}

describe('SIP edge: digest authentication of unknown sources', () => {
  it('challenges an unknown source 401 with SHA-256 then MD5 (qop=auth), passes nothing up, counts no failure', () => {
    const { inner, up, lines } = setup();
    inner.inject(invite(), STRANGER);
    assert.equal(up.length, 0);
    const res = inner.responses(401)[0];
    assert.ok(res);
    assert.deepEqual(inner.sent.map((s) => [s.address, s.port]), [[STRANGER.address, STRANGER.port]]);
    const chs = headerValues(res, 'www-authenticate').map(parseChallenge);
    assert.deepEqual(chs.map((c) => [c.algorithm, c.realm, c.qop.join(','), c.stale]), [['SHA-256', 'branch.example', 'auth', false], ['MD5', 'branch.example', 'auth', false]]);
    assert.equal(chs[0]?.nonce, chs[1]?.nonce);
    assert.match(lines.join('\n'), /SIP request challenged \(401\).*no credentials/);
  });

  for (const alg of ['SHA-256', 'MD5']) {
    it(`admits the source with right ${alg} credentials; its later requests pass as a peer's without credentials`, () => {
      const { inner, up, lines } = setup();
      inner.inject(invite(), STRANGER);
      const challenge = inner.responses(401)[0];
      assert.ok(challenge);
      inner.inject(invite(answer(challenge, alg, PASSWORD)), STRANGER);
      assert.equal(up.length, 1);
      assert.equal(parseMessage(up[0] ?? Buffer.alloc(0)).kind, 'request');
      inner.inject(invite(undefined, 'BYE').replace('CSeq: ', 'CSeq: '), STRANGER);
      assert.equal(up.length, 2, 'the BYE passes: the source is authenticated');
      assert.equal(inner.responses(401).length, 1);
      assert.match(lines.join('\n'), /SIP source authenticated \(digest\).*"user":"cc-sbc"/);
      assert.ok(!lines.join('\n').includes(PASSWORD), 'the password is never logged');
    });
  }

  it('a stale nonce (older than nonceTtlS) is re-challenged with stale=true and not counted; the fresh one admits', () => {
    const { inner, up, clock } = setup({ nonceTtlS: 10 });
    inner.inject(invite(), STRANGER);
    const first = inner.responses(401)[0];
    assert.ok(first);
    clock.advance(11_000);
    inner.inject(invite(answer(first, 'SHA-256', PASSWORD)), STRANGER);
    const again = inner.responses(401)[1];
    assert.ok(again);
    assert.equal(parseChallenge(headerValues(again, 'www-authenticate')[0] ?? '').stale, true);
    for (let i = 0; i < 3; i++) {
      inner.inject(invite(answer(first, 'SHA-256', PASSWORD)), STRANGER);
    }
    assert.equal(up.length, 0);
    inner.inject(invite(answer(again, 'SHA-256', PASSWORD)), STRANGER);
    assert.equal(up.length, 1, 'three stale answers did not ban the source');
  });

  it('wrong passwords are challenged again and the maxFailures-th bans the source: then silence, even with the right password', () => {
    const { inner, up, lines } = setup();
    for (let i = 0; i < 3; i++) {
      inner.inject(invite(), STRANGER);
      const ch = inner.responses(401).at(-1);
      assert.ok(ch);
      inner.inject(invite(answer(ch, 'MD5', 'guess-' + i)), STRANGER);
    }
    const sentBefore = inner.sent.length;
    inner.inject(invite(), STRANGER);
    assert.equal(inner.sent.length, sentBefore, 'a banned source gets no answer');
    assert.equal(up.length, 0);
    assert.match(lines.join('\n'), /SIP source banned for 3600 s: 3 failed authentications/);
    assert.match(lines.join('\n'), /authentication failed.*"reason":"wrong credentials"/);
    assert.ok(!lines.some((l) => l.includes('guess-')), 'tried passwords are never logged');
  });

  it('a replayed Authorization (same nonce and nc) is refused; digest-uri must be the Request-URI; unknown users fail', () => {
    const { inner, up, lines } = setup({ maxFailures: 10 });
    inner.inject(invite(), STRANGER);
    const ch = inner.responses(401)[0];
    assert.ok(ch);
    const creds = answer(ch, 'SHA-256', PASSWORD);
    inner.inject(invite(creds), STRANGER);
    assert.equal(up.length, 1);
    // The same Authorization captured and replayed from elsewhere: same nonce, same nc.
    inner.inject(invite(creds), { address: '203.0.113.9', port: 5060 });
    assert.equal(up.length, 1);
    assert.match(lines.join('\n'), /authentication failed.*"source":"203\.0\.113\.9".*"reason":"nonce count not increasing \(replay\)"/);
    const { inner: inner2, up: up2, lines: lines2 } = setup({ maxFailures: 10 });
    // Another edge (another process) did not issue this nonce.
    inner2.inject(invite(creds), STRANGER);
    assert.equal(up2.length, 0);
    assert.match(lines2.join('\n'), /nonce not issued here/);
    inner2.inject(invite(), STRANGER);
    const ch2 = inner2.responses(401).at(-1);
    assert.ok(ch2);
    const once = answer(ch2, 'SHA-256', PASSWORD, '00000001');
    inner2.inject(invite(answer(ch2, 'SHA-256', PASSWORD, '00000001', 'sip:9999@192.0.2.10')), STRANGER);
    assert.match(lines2.join('\n'), /digest-uri is not the Request-URI/);
    inner2.inject(invite(once.replace('username="cc-sbc"', 'username="someone"')), STRANGER);
    assert.match(lines2.join('\n'), /unknown user/);
    assert.equal(up2.length, 0);
  });

  it('ACK and CANCEL from an unauthenticated unknown source are dropped without a challenge (§22.1)', () => {
    const { inner, up } = setup();
    inner.inject(invite(undefined, 'ACK'), STRANGER);
    inner.inject(invite(undefined, 'CANCEL'), STRANGER);
    assert.equal(inner.sent.length, 0);
    assert.equal(up.length, 0);
  });

  it('off by default: unknown sources are dropped silently, as before', () => {
    const clock = new ManualClock();
    const inner = new FakeSipTransport();
    const edge = edgeTransport(inner, configSchema.parse({ sip: { edge: { allowLoopback: false } } }).sip, clock, recordingLog([]));
    const up: Buffer[] = [];
    edge.on('message', (d) => up.push(d));
    inner.inject(invite(), STRANGER);
    assert.deepEqual([inner.sent.length, up.length], [0, 0]);
    assert.equal(header(parseMessage(Buffer.from(invite())), 'authorization'), undefined);
  });
});
