/**
 * SIP edge (DESIGN.md §7) with a manual clock: allowed peers by address/CIDR (IPv4, IPv6, mapped
 * IPv4), per-peer token bucket, unknown sources refused then banned after a burst, ban expiry,
 * one log line per source and reason per interval with the count dropped since, bounded tables.
 */
import assert from 'node:assert/strict';
import { parseConfig } from '../../../controller/config/load';
import { AllowList, allowListFromConfig } from '../../../controller/sip/edge/allow-list';
import { EdgePolicy, type EdgeVerdict } from '../../../controller/sip/edge/edge-policy';
import { requestMethod } from '../../../controller/sip/edge/edge-transport';
import { ManualClock } from '../../lib/manual-clock';

function policy(clock: ManualClock, allow: string[] = ['192.0.2.0/24', '2001:db8::/32', '198.51.100.7'], maxSources?: number): EdgePolicy {
  const list = new AllowList();
  for (const a of allow) list.add(a);
  return new EdgePolicy({ allow: list, peerRatePerS: 10, peerBurst: 20, unknownBurst: 5, unknownWindowMs: 10_000, banMs: 60_000, logIntervalMs: 30_000, ...(maxSources !== undefined ? { maxSources } : {}) }, clock);
}

function refused(v: EdgeVerdict): { reason: string; log: boolean; suppressed: number } {
  assert.equal(v.accept, false);
  return v.accept ? assert.fail() : { reason: v.reason, log: v.log, suppressed: v.suppressed };
}

describe('SIP edge policy (DESIGN.md §7)', () => {
  it('accepts configured peers by address and CIDR, IPv4, IPv6 and IPv4-mapped IPv6', () => {
    const p = policy(new ManualClock());
    for (const a of ['192.0.2.1', '192.0.2.254', '198.51.100.7', '2001:db8::1', '::ffff:192.0.2.9']) assert.deepEqual(p.check(a), { accept: true }, a);
    assert.equal(p.check('198.51.100.8').accept, false);
    assert.equal(p.check('2001:db9::1').accept, false);
  });

  it('an allowed peer is rate limited by its token bucket (burst 20, 10/s) and never banned', () => {
    const clock = new ManualClock();
    const p = policy(clock);
    for (let i = 0; i < 20; i++) assert.equal(p.check('192.0.2.1').accept, true);
    assert.equal(refused(p.check('192.0.2.1')).reason, 'rate-limited');
    for (let i = 0; i < 100; i++) p.check('192.0.2.1');
    clock.advance(1000);
    let accepted = 0;
    for (let i = 0; i < 30; i++) if (p.check('192.0.2.1').accept) accepted++;
    assert.equal(accepted, 10, '10 tokens after 1 s');
    assert.equal(p.stats.bansTotal, 0);
  });

  it('a scanner: unknown source refused, banned after more than 5 requests in 10 s, ban logged at once, lifted after 60 s', () => {
    const clock = new ManualClock();
    const p = policy(clock);
    const verdicts = Array.from({ length: 8 }, () => p.check('203.0.113.5'));
    assert.deepEqual(verdicts.map((v) => (v.accept ? 'accept' : v.reason)), ['unknown-source', 'unknown-source', 'unknown-source', 'unknown-source', 'unknown-source', 'banned', 'banned', 'banned']);
    const banned = verdicts[5];
    assert.ok(banned && !banned.accept && banned.bannedNow && banned.log, 'the ban itself is logged');
    assert.equal(p.stats.bansActive, 1);
    clock.advance(59_999);
    assert.equal(refused(p.check('203.0.113.5')).reason, 'banned');
    clock.advance(1);
    assert.equal(refused(p.check('203.0.113.5')).reason, 'unknown-source');
    assert.equal(p.stats.bansActive, 0);
  });

  it('a slow unknown source (within the burst per window) is refused but not banned', () => {
    const clock = new ManualClock();
    const p = policy(clock);
    for (let i = 0; i < 20; i++) {
      for (let j = 0; j < 5; j++) assert.equal(refused(p.check('203.0.113.6')).reason, 'unknown-source');
      clock.advance(10_000);
    }
    assert.equal(p.stats.bansTotal, 0);
  });

  it('logs once per source and reason per 30 s interval, then says how many were dropped since', () => {
    const clock = new ManualClock();
    const p = policy(clock);
    const logs: number[] = [];
    // 3 requests every 10 s: under the ban threshold (5 per 10 s window), for 900 s.
    for (let w = 0; w < 90; w++) {
      for (let i = 0; i < 3; i++) {
        const v = refused(p.check('198.51.100.99'));
        assert.equal(v.reason, 'unknown-source');
        if (v.log) logs.push(v.suppressed);
      }
      clock.advance(10_000);
    }
    assert.equal(logs.length, 30, 'one line per 30 s');
    assert.equal(logs[0], 0);
    assert.equal(logs[1], 8, 'the next line counts the 8 dropped silently in between');
  });

  it('tables stay bounded under a sweep from many addresses', () => {
    const p = policy(new ManualClock(), [], 100);
    for (let i = 0; i < 5000; i++) p.check(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const internals = p as unknown as { unknown: Map<string, unknown>; logged: Map<string, unknown> };
    assert.ok(internals.unknown.size <= 100);
    assert.ok(internals.logged.size <= 100);
    assert.equal(p.stats.refused['unknown-source'], 5000);
  });

  it('allow entries are checked: a bad address or prefix is an error naming the entry', () => {
    const l = new AllowList();
    assert.throws(() => l.add('10.0.0.0/33'), /allow entry "10\.0\.0\.0\/33": prefix "\/33" is not 0-32/);
    assert.throws(() => l.add('trunk.example'), /"trunk\.example" is not an IPv4 or IPv6 address/);
  });

  it('the allow list of a config: edge.allow, literal trunk addresses, loopback by default (not host names)', () => {
    const c = parseConfig({ sip: { trunks: [{ name: 'a', uri: 'sip:{called}@203.0.113.10:5060' }, { name: 'b', uri: 'sips:{called}@cc.example.net' }], edge: { allow: ['198.51.100.0/24'] } } }).sip;
    const l = allowListFromConfig(c);
    assert.equal(l.has('203.0.113.10'), true);
    assert.equal(l.has('198.51.100.77'), true);
    assert.equal(l.has('127.0.0.1'), true);
    assert.equal(l.has('203.0.113.11'), false);
    const noLoop = allowListFromConfig(parseConfig({ sip: { edge: { allowLoopback: false } } }).sip);
    assert.equal(noLoop.has('127.0.0.1'), true, 'contactCenterUri 127.0.0.1 is the implicit trunk');
    assert.equal(noLoop.has('127.0.0.2'), false);
  });

  it('requestMethod reads the method of a request and nothing of a response', () => {
    assert.equal(requestMethod(Buffer.from('\r\nOPTIONS sip:100@1.2.3.4 SIP/2.0\r\n')), 'OPTIONS');
    assert.equal(requestMethod(Buffer.from('SIP/2.0 200 OK\r\n')), undefined);
    assert.equal(requestMethod(Buffer.from('\x00\x01garbage')), '(not SIP)');
  });
});
