/** RpcServer decisions with a fake publisher and audit sink (docs/mqtt/rpc.md rules 1–6). */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { z } from 'zod';
import { nullLogger } from '../../../hw/base/logger';
import { TonewallError } from '../../../hw/base/errors';
import type { AuditInput } from '../../../controller/store/audit';
import { RpcServer } from '../../../controller/fleet/rpc/rpc-server';
import { registerBuiltins } from '../../../controller/fleet/rpc/builtins';
import { ReplyCache } from '../../../controller/fleet/rpc/reply-cache';
import { canonicalRequest, signRequest, verifyRequestSignature } from '../../../controller/fleet/rpc/signature';
import type { RpcReplyBody } from '../../../controller/fleet/rpc/types';
import { ManualClock } from '../../lib/manual-clock';

const PREFIX = 'tonewall/v1/dev-1/rpc/res/';
const RT = `${PREFIX}ops`;

interface Sent {
  topic: string;
  body: RpcReplyBody;
  cd: Buffer | undefined;
  expiryS: number;
}

function setup(opts: { fleetKeyPem?: string } = {}) {
  const clock = new ManualClock(1_700_000_000_000);
  const sent: Sent[] = [];
  const audit: AuditInput[] = [];
  const rpc = new RpcServer({
    responsePrefix: PREFIX,
    publish: (topic, body, cd, expiryS) => {
      sent.push({ topic, body, cd, expiryS });
      return Promise.resolve();
    },
    audit: { append: (e: AuditInput) => audit.push(e) },
    log: nullLogger,
    clock,
    fleetKeyPem: opts.fleetKeyPem,
  });
  let rebirths = 0;
  registerBuiltins(rpc, {
    clock,
    info: () => ({ site: 'branch-7' }),
    rebirth: () => {
      rebirths++;
      return Promise.resolve();
    },
  });
  let runs = 0;
  rpc.register('count', {
    schema: z.object({ by: z.number().int().min(1) }).strict(),
    handler: (p) => {
      runs += p.by;
      return Promise.resolve({ status: 'ok', data: { runs } });
    },
  });
  rpc.register('reboot', { schema: z.object({ delayS: z.number().int().optional() }).strict(), dangerous: true, handler: () => Promise.resolve({ status: 'accepted' }) });
  rpc.register('boom', { schema: z.object({}).strict(), handler: () => Promise.reject(new TonewallError('EDRAIN_BUSY', 'calls still active')) });
  const send = (method: string, payload: unknown, responseTopic: string | null = RT, cd: Buffer | undefined = Buffer.from('c1')) =>
    rpc.handle({ method, payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), responseTopic: responseTopic ?? undefined, correlationData: cd });
  return { clock, sent, audit, rpc, send, runs: () => runs, rebirths: () => rebirths };
}

describe('fleet rpc: RpcServer', () => {
  it('ping answers ok with pong and the device time, same correlation data, reply expiry, audited', async () => {
    const t = setup();
    await t.send('ping', { reqId: 'r1', actor: 'ops:alice' }, RT, Buffer.from('corr-42'));
    assert.equal(t.sent.length, 1);
    assert.deepEqual(t.sent[0], { topic: RT, body: { reqId: 'r1', status: 'ok', data: { pong: true, ts: 1_700_000_000_000 } }, cd: Buffer.from('corr-42'), expiryS: 300 });
    assert.deepEqual(t.audit, [{ source: 'mqtt', action: 'ping', actor: 'ops:alice', result: 'ok', detail: null }]);
  });

  it('get_info returns the birth record; rebirth runs the republish', async () => {
    const t = setup();
    await t.send('get_info', { reqId: 'i1' });
    await t.send('rebirth', { reqId: 'b1' });
    assert.deepEqual(t.sent.map((s) => s.body), [
      { reqId: 'i1', status: 'ok', data: { site: 'branch-7' } },
      { reqId: 'b1', status: 'ok' },
    ]);
    assert.equal(t.rebirths(), 1);
  });

  it('drops (never answers) a request whose response topic is missing or outside its own rpc/res/', async () => {
    const t = setup();
    await t.send('ping', { reqId: 'a' }, null);
    await t.send('ping', { reqId: 'b' }, 'tonewall/v1/dev-2/rpc/res/ops');
    await t.send('ping', { reqId: 'c' }, 'tonewall/v1/dev-1/rpc/resx/ops');
    await t.send('ping', { reqId: 'd' }, PREFIX);
    assert.equal(t.sent.length, 0);
    assert.equal(t.rpc.counters.dropped, 4);
    assert.deepEqual(new Set(t.audit.map((a) => a.result)), new Set(['dropped']));
    assert.equal(t.audit.length, 4);
  });

  it('answers a duplicate reqId with the same reply without running the handler again', async () => {
    const t = setup();
    await t.send('count', { reqId: 'dup', params: { by: 2 } }, RT, Buffer.from('x1'));
    await t.send('count', { reqId: 'dup', params: { by: 2 } }, RT, Buffer.from('x2'));
    assert.equal(t.runs(), 2);
    assert.equal(t.sent.length, 2);
    assert.deepEqual(t.sent[1]?.body, t.sent[0]?.body);
    assert.deepEqual(t.sent[1]?.cd, Buffer.from('x2'));
    assert.deepEqual(t.audit.map((a) => a.result), ['ok', 'duplicate']);
    assert.equal(t.rpc.counters.duplicates, 1);
  });

  it('a duplicate arriving while the first is still running waits for the same reply', async () => {
    const t = setup();
    await Promise.all([t.send('count', { reqId: 'p', params: { by: 5 } }), t.send('count', { reqId: 'p', params: { by: 5 } })]);
    assert.equal(t.runs(), 5);
    assert.deepEqual(t.sent.map((s) => s.body), [
      { reqId: 'p', status: 'ok', data: { runs: 5 } },
      { reqId: 'p', status: 'ok', data: { runs: 5 } },
    ]);
  });

  it('refuses an expired request with code expired and does not run it', async () => {
    const t = setup();
    await t.send('count', { reqId: 'old', exp: t.clock.now() - 1, params: { by: 1 } });
    await t.send('count', { reqId: 'fresh', exp: t.clock.now() + 1000, params: { by: 1 } });
    assert.equal(t.sent[0]?.body.error?.code, 'expired');
    assert.equal(t.sent[1]?.body.status, 'ok');
    assert.equal(t.runs(), 1);
    assert.deepEqual(t.audit.map((a) => [a.result, a.detail]), [['error', 'expired'], ['ok', null]]);
    // Times as ISO 8601: a raw 13-digit ms time would trip the publish guard's card-number check.
    assert.equal(t.sent[0]?.body.error?.message, 'request expired at 2023-11-14T22:13:19.999Z; device time is 2023-11-14T22:13:20.000Z');
  });

  it('a reply refused by the publish guard is replaced by reply_withheld (the caller still gets an answer)', async () => {
    const clock = new ManualClock();
    const sent: RpcReplyBody[] = [];
    const rpc = new RpcServer({
      responsePrefix: PREFIX,
      publish: (_topic, body) => {
        if (body.status === 'ok') return Promise.reject(new TonewallError('EFLEET_GUARD', 'publish refused'));
        sent.push(body);
        return Promise.resolve();
      },
      audit: { append: () => undefined },
      log: nullLogger,
      clock,
    });
    rpc.register('leaky', { schema: z.object({}).strict(), handler: () => Promise.resolve({ status: 'ok', data: { x: 1 } }) });
    await rpc.handle({ method: 'leaky', payload: Buffer.from('{"reqId":"w"}'), responseTopic: RT, correlationData: undefined });
    assert.deepEqual(sent.map((b) => [b.reqId, b.error?.code]), [['w', 'reply_withheld']]);
    // A card-like reqId is not echoed in the substitute reply either.
    await rpc.handle({ method: 'leaky', payload: Buffer.from('{"reqId":"4111-1111-1111-1111"}'), responseTopic: RT, correlationData: undefined });
    assert.deepEqual(sent[1], { reqId: '', status: 'error', error: { code: 'reply_withheld', message: 'the reply was withheld by the publish guard (card-like content)' } });
  });

  it('answers bad JSON and schema errors with a clear message naming the field', async () => {
    const t = setup();
    await t.send('ping', '{not json');
    await t.send('ping', { reqId: 'k', extra: 1 });
    await t.send('ping', { reqId: 7 });
    await t.send('count', { reqId: 'q', params: { by: 'two' } });
    const [notJson, unknownKey, badId, badParams] = t.sent.map((s) => s.body);
    assert.equal(notJson?.error?.code, 'bad_request');
    assert.match(notJson?.error?.message ?? '', /not JSON/);
    assert.equal(notJson?.reqId, '');
    assert.equal(unknownKey?.reqId, 'k');
    assert.match(unknownKey?.error?.message ?? '', /extra/);
    assert.match(badId?.error?.message ?? '', /reqId/);
    assert.equal(badParams?.error?.code, 'bad_params');
    assert.match(badParams?.error?.message ?? '', /params of "count" by: /);
    assert.equal(t.runs(), 0);
  });

  it('unknown method → unknown_method listing the known ones; a handler throw → its TonewallError code', async () => {
    const t = setup();
    await t.send('self_destruct', { reqId: 'u' });
    await t.send('boom', { reqId: 'b' });
    assert.equal(t.sent[0]?.body.error?.code, 'unknown_method');
    assert.match(t.sent[0]?.body.error?.message ?? '', /self_destruct.*ping/);
    assert.deepEqual(t.sent[1]?.body.error, { code: 'EDRAIN_BUSY', message: '"boom" failed: calls still active' });
  });

  describe('dangerous methods', () => {
    const fleet = generateKeyPairSync('ed25519');
    const pubPem = fleet.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const other = generateKeyPairSync('ed25519');

    it('runs with a valid fleet signature', async () => {
      const t = setup({ fleetKeyPem: pubPem });
      const exp = t.clock.now() + 60_000;
      const sig = signRequest(fleet.privateKey, canonicalRequest('reboot', 'rb1', exp, { delayS: 5 }));
      await t.send('reboot', { reqId: 'rb1', exp, params: { delayS: 5 }, sig });
      assert.deepEqual(t.sent[0]?.body, { reqId: 'rb1', status: 'accepted' });
    });

    it('refuses a missing signature, a missing exp, a wrong key, and tampered params', async () => {
      const t = setup({ fleetKeyPem: pubPem });
      const exp = t.clock.now() + 60_000;
      await t.send('reboot', { reqId: 'n1', exp });
      await t.send('reboot', { reqId: 'n2', sig: signRequest(fleet.privateKey, canonicalRequest('reboot', 'n2', 0, undefined)) });
      await t.send('reboot', { reqId: 'n3', exp, sig: signRequest(other.privateKey, canonicalRequest('reboot', 'n3', exp, undefined)) });
      await t.send('reboot', { reqId: 'n4', exp, params: { delayS: 9 }, sig: signRequest(fleet.privateKey, canonicalRequest('reboot', 'n4', exp, { delayS: 5 })) });
      await t.send('reboot', { reqId: 'n5', exp, sig: 'not-a-signature' });
      assert.deepEqual(t.sent.map((s) => s.body.error?.code), ['signature_required', 'signature_required', 'bad_signature', 'bad_signature', 'bad_signature']);
    });

    it('a method dangerous only for some params (restart with force) needs the signature only then', async () => {
      const t = setup({ fleetKeyPem: pubPem });
      t.rpc.register('restart', {
        schema: z.object({ force: z.boolean().default(false) }).strict(),
        dangerous: (params) => params?.['force'] === true,
        handler: (p) => Promise.resolve({ status: 'accepted', data: { forced: p.force } }),
      });
      const exp = t.clock.now() + 60_000;
      await t.send('restart', { reqId: 'r1', params: {} });
      await t.send('restart', { reqId: 'r2', params: { force: true } });
      await t.send('restart', { reqId: 'r3', exp, params: { force: true }, sig: signRequest(fleet.privateKey, canonicalRequest('restart', 'r3', exp, { force: true })) });
      assert.deepEqual(t.sent.map((x) => x.body.error?.code ?? x.body.data?.['forced']), [false, 'signature_required', true]);
    });

    it('refuses every dangerous request when no fleet key is configured', async () => {
      const t = setup();
      const exp = t.clock.now() + 60_000;
      await t.send('reboot', { reqId: 'z', exp, sig: signRequest(fleet.privateKey, canonicalRequest('reboot', 'z', exp, undefined)) });
      assert.equal(t.sent[0]?.body.error?.code, 'signature_required');
      assert.match(t.sent[0]?.body.error?.message ?? '', /no fleet key/);
    });

    it('refuses a non-Ed25519 fleet key at construction, naming what was expected', () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      assert.throws(() => setup({ fleetKeyPem: rsa }), /rsa.*expected ed25519/);
    });

    it('signature helpers: canonical string shape and verify', () => {
      assert.equal(canonicalRequest('reboot', 'r', 5, { a: 1 }), 'reboot\nr\n5\n{"a":1}');
      assert.equal(canonicalRequest('reboot', 'r', 5, undefined), 'reboot\nr\n5\n{}');
      const c = canonicalRequest('reboot', 'r', 5, {});
      assert.equal(verifyRequestSignature(fleet.publicKey, c, signRequest(fleet.privateKey, c)), true);
      assert.equal(verifyRequestSignature(fleet.publicKey, c + 'x', signRequest(fleet.privateKey, c)), false);
    });
  });

  it('audits without the actor when the audit guard refuses it', async () => {
    const clock = new ManualClock();
    const audit: AuditInput[] = [];
    const rpc = new RpcServer({
      responsePrefix: PREFIX,
      publish: () => Promise.resolve(),
      audit: {
        append: (e: AuditInput) => {
          if (e.actor !== null && e.actor !== undefined) throw new Error('refused');
          audit.push(e);
        },
      },
      log: nullLogger,
      clock,
    });
    await rpc.handle({ method: 'nope', payload: Buffer.from(JSON.stringify({ reqId: 'a', actor: 'ops:x' })), responseTopic: RT, correlationData: undefined });
    assert.deepEqual(audit, [{ source: 'mqtt', action: 'nope', actor: null, result: 'error', detail: 'actor refused by the audit guard' }]);
  });

  it('ReplyCache evicts the least recently used beyond its capacity', async () => {
    const c = new ReplyCache<number>(2);
    c.set('a', Promise.resolve(1));
    c.set('b', Promise.resolve(2));
    assert.equal(await c.get('a'), 1);
    c.set('c', Promise.resolve(3));
    assert.equal(c.get('b'), undefined);
    assert.equal(await c.get('a'), 1);
    assert.equal(c.size, 2);
  });
});
