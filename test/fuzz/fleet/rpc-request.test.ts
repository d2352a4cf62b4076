/**
 * Fuzzing the inbound command path (DESIGN.md §7 "Every parser … MQTT command payloads"): the
 * RpcServer's request envelope, the response-topic check, signatures, and the params of every
 * command (RPC_PARAMS; `pay.*` through controller/secure's parsePayCommand, as the payments service
 * does). ≥ 1,000,000 inputs with a fixed seed (TW_FUZZ_RUNS to change), `npm run test:fuzz`.
 *
 * Per input: handle() never rejects; a request with a foreign response topic is dropped unanswered;
 * any other gets one reply (`ok`/`accepted`, or `error` with a code and a message); every request is
 * audited exactly once; no dangerous command runs without a valid fleet-key signature; a handler
 * sees only params its schema accepted; nothing but a TonewallError escapes a decoder.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { TonewallError } from '../../../hw/base/errors';
import { nullLogger } from '../../../hw/base/logger';
import { PublishGuard } from '../../../controller/fleet/publish-guard';
import { RPC_PARAMS, DANGEROUS, type RpcMethodName } from '../../../controller/fleet/rpc/method-params';
import { RpcServer, registerBuiltins, canonicalRequest, signRequest, type RpcReplyBody } from '../../../controller/fleet/rpc';
import { parsePayCommand } from '../../../controller/secure/pay-commands';
import { objectWithKeys, payloadBytes, scalar } from '../../lib/fleet-fuzz';
import { FUZZ_RUNS, runFuzz } from '../../lib/fuzz-run';
import { ManualClock } from '../../lib/manual-clock';

const PREFIX = 'tonewall/v1/tw-fuzz-0001/rpc/res/';
const NOW = Date.UTC(2026, 10, 22, 8, 0, 0);
const PARAM_KEYS = ['callId', 'q850', 'span', 'mode', 'durationS', 'force', 'timeoutS', 'reason', 'logLines', 'level', 'requestId', 'fields', 'amountMinor', 'currency', 'reference', 'sessionId', 'field', 'description'] as const;
const METHODS = Object.keys(RPC_PARAMS) as RpcMethodName[];

describe('fuzz: rpc requests (envelope, signatures, every command\'s params)', function () {
  this.timeout(1_800_000);

  it(`${FUZZ_RUNS} requests: no crash, one reply or a drop, audited once, dangerous never unsigned`, async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const clock = new ManualClock(NOW);
    const guard = new PublishGuard();
    let replies: RpcReplyBody[] = [];
    let audits = 0;
    const last: { ran: { method: string; signed: boolean } | undefined } = { ran: undefined };
    const ranNow = (): { method: string; signed: boolean } | undefined => last.ran;
    let validSig = false;
    const rpc = new RpcServer({
      responsePrefix: PREFIX,
      publish: (topic, body) => {
        guard.check(topic, body);
        replies.push(body);
        return Promise.resolve();
      },
      audit: { append: () => void audits++ },
      log: nullLogger,
      clock,
      fleetKeyPem: publicKey,
      cacheSize: 256,
    });
    registerBuiltins(rpc, { clock, info: () => ({ site: 'fuzz' }), rebirth: () => Promise.resolve() });
    for (const method of METHODS) {
      if (method === 'ping' || method === 'get_info' || method === 'rebirth') continue;
      const dangerous = DANGEROUS[method];
      rpc.register(method, {
        schema: RPC_PARAMS[method] as never,
        ...(dangerous !== undefined ? { dangerous } : {}),
        handler: (params: unknown) => {
          last.ran = { method, signed: validSig };
          if (!method.startsWith('pay.')) return Promise.resolve({ status: 'ok' });
          try {
            parsePayCommand(method.slice(4), params);
            return Promise.resolve({ status: 'ok' });
          } catch (err) {
            if (!(err instanceof TonewallError)) throw new Error(`pay decoder threw a non-TonewallError: ${String(err)}`);
            return Promise.resolve({ status: 'error', error: { code: err.code, message: err.message } });
          }
        },
      });
    }

    const reqId = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,24}$/), scalar);
    const exp = fc.oneof(fc.constant(NOW + 60_000), fc.constant(NOW - 1), fc.integer({ min: NOW - 1e6, max: NOW + 1e6 }), scalar);
    const request = fc.record(
      {
        reqId,
        params: fc.oneof({ weight: 5, arbitrary: objectWithKeys(PARAM_KEYS) }, { weight: 1, arbitrary: scalar }),
        exp,
        actor: fc.oneof(fc.string({ maxLength: 20 }), scalar),
        sig: fc.oneof(fc.base64String({ minLength: 80, maxLength: 92 }), scalar),
        extra: scalar,
      },
      { requiredKeys: [] },
    );
    const method = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: fc.string({ maxLength: 70 }) });
    const responseTopic = fc.oneof(
      { weight: 8, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,12}$/).map((s) => PREFIX + s) },
      { weight: 1, arbitrary: fc.constantFrom(undefined, '', PREFIX, `${PREFIX}#`, `${PREFIX}a/+`, 'tonewall/v1/other/rpc/res/x', `${PREFIX}a\u0000`) },
      { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    );
    // One input in 64 is a correctly signed dangerous command: it must run (the positive control).
    const signed = fc.record({ m: fc.constantFrom('reboot', 'factory_reset', 'restart'), id: fc.stringMatching(/^[a-z0-9]{8,16}$/) }).map(({ m, id }) => {
      const params = m === 'restart' ? { force: true } : {};
      const e = NOW + 60_000;
      return { m, body: { reqId: `s-${id}`, params, exp: e, sig: signRequest(privateKey, canonicalRequest(m, `s-${id}`, e, params)) } };
    });
    const input = fc.oneof(
      { weight: 63, arbitrary: fc.tuple(method, responseTopic, payloadBytes(request)).map(([m, rt, payload]) => ({ m, rt, payload, signedOk: false })) },
      { weight: 1, arbitrary: signed.map(({ m, body }) => ({ m, rt: `${PREFIX}ops`, payload: Buffer.from(JSON.stringify(body)), signedOk: true })) },
    );

    let signedRuns = 0;
    const property = fc.asyncProperty(input, async ({ m, rt, payload, signedOk }) => {
      replies = [];
      audits = 0;
      last.ran = undefined;
      validSig = signedOk;
      await rpc.handle({ method: m, payload, responseTopic: rt, correlationData: undefined });
      assert.equal(audits, 1, 'audited exactly once');
      const foreign = rt === undefined || !rt.startsWith(PREFIX) || rt.length === PREFIX.length || /[#+]/.test(rt.slice(PREFIX.length)) || rt.includes(String.fromCharCode(0));
      if (foreign) {
        assert.equal(replies.length, 0, 'no reply outside rpc/res/');
        return;
      }
      assert.ok(replies.length >= 1 && replies.length <= 2, `replies: ${replies.length}`);
      const reply = replies.at(-1);
      assert.ok(reply && ['ok', 'error', 'accepted'].includes(reply.status));
      if (reply.status === 'error') assert.ok(reply.error && reply.error.code.length > 0 && reply.error.message.length > 0, 'an error names its code and reason');
      const ran = ranNow();
      if (ran && typeof DANGEROUS[ran.method as RpcMethodName] === 'boolean') assert.ok(ran.signed, `dangerous ${ran.method} ran unsigned`);
      if (ran?.method === 'restart' && payload.includes('"force":true')) assert.ok(ran.signed, 'forced restart ran unsigned');
      if (signedOk && reply.status === 'ok') signedRuns++;
    });
    await runFuzz('rpc requests', property, 0x7e57_0007);
    assert.ok(signedRuns > 0, 'signed dangerous commands ran (positive control)');
  });
});
