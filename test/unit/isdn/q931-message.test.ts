import assert from 'node:assert/strict';
import fc from 'fast-check';

/** Fuzz inputs per property: the normal run's default, or TONEWALL_FUZZ_RUNS (the million-input campaign is test/fuzz/isdn, npm run test:fuzz). */
const FUZZ_RUNS = Number(process.env.TONEWALL_FUZZ_RUNS) || 20_000;
import { TonewallError } from '../../../hw/base/errors';
import { decodeQ931, encodeQ931, findIe, MESSAGE_TYPES, type Q931Message } from '../../../controller/pstn/isdn/q931-message';
import type { Q931Ie } from '../../../controller/pstn/isdn/q931-ie';

/** The SETUP libpri 1.6 sends as Euro-ISDN network (captured in the interop test). */
const LIBPRI_SETUP = '080200010504038090a31803a983832805416c6963656c0900803535353938373670088035353531323334a1';

describe('Q.931 message codec', () => {
  it('§4.1-4.5: decodes libpri\'s SETUP: call reference 1, bearer, channel 3 exclusive, display, numbers, sending complete', () => {
    const m = decodeQ931(Buffer.from(LIBPRI_SETUP, 'hex'));
    assert.deepEqual(m.callRef, { length: 2, flag: false, value: 1 });
    assert.equal(m.type, 'SETUP');
    assert.deepEqual(findIe(m, 'bearer-capability'), { id: 'bearer-capability', capability: 0, modeRate: 0x90, layer1: 3 });
    assert.deepEqual(findIe(m, 'channel-id'), { id: 'channel-id', exclusive: true, selection: 'indicated', channels: [3], dChannel: false });
    assert.deepEqual(findIe(m, 'display'), { id: 'display', text: 'Alice' });
    assert.deepEqual(findIe(m, 'calling-number'), { id: 'calling-number', typeOfNumber: 0, numberingPlan: 0, presentation: 0, screening: 0, digits: '5559876' });
    assert.deepEqual(findIe(m, 'called-number'), { id: 'called-number', typeOfNumber: 0, numberingPlan: 0, digits: '5551234' });
    assert.ok(findIe(m, 'sending-complete'));
    assert.equal(encodeQ931(m).toString('hex'), LIBPRI_SETUP, 're-encodes byte for byte');
  });

  it('§4.3: the call reference flag is bit 8 of the first value octet; the global reference is 0', () => {
    const m: Q931Message = { callRef: { length: 2, flag: true, value: 0x1234 }, type: 'RELEASE COMPLETE', ies: [{ id: 'cause', location: 2, value: 16, diagnostics: Buffer.alloc(0) }] };
    const bytes = encodeQ931(m);
    assert.equal(bytes.toString('hex'), '080292345a08028290');
    assert.deepEqual(decodeQ931(bytes), m);
    assert.deepEqual(decodeQ931(Buffer.from('0802000046790187', 'hex')).ies, [{ id: 'restart-indicator', restartClass: 7 }]);
  });

  it('§4.5.12: cause with location, value and diagnostics; §4.5.23 progress; §4.5.7 call state', () => {
    const m = decodeQ931(Buffer.from('0802800145' + '0805829f010203' + '1e028288' + '14010a', 'hex'));
    assert.deepEqual(m.ies, [
      { id: 'cause', location: 2, value: 31, diagnostics: Buffer.from([1, 2, 3]) },
      { id: 'progress', location: 2, description: 8 },
      { id: 'call-state', value: 10 },
    ]);
  });

  it('§4.5.13: channel identification for a PRI, preferred and exclusive, any channel', () => {
    const cases: [string, Partial<Q931Ie>][] = [
      ['a18381', { exclusive: false, selection: 'indicated', channels: [1] }],
      ['a9839f', { exclusive: true, selection: 'indicated', channels: [31] }],
      ['a3', { exclusive: false, selection: 'any', channels: [] }],
      ['a983020385', { exclusive: true, selection: 'indicated', channels: [2, 3, 5] }],
    ];
    for (const [hex, want] of cases) {
      const msg = decodeQ931(Buffer.from(`0802000102 18${(hex.length / 2).toString(16).padStart(2, '0')}${hex}`.replace(/ /g, ''), 'hex'));
      assert.deepEqual(findIe(msg, 'channel-id'), { id: 'channel-id', dChannel: false, ...want }, hex);
      assert.equal(encodeQ931(msg).toString('hex').endsWith(hex), true, hex);
    }
  });

  it('§4.5.2/4.5.3: IEs after a locking shift to codeset 6 and a non-locking shift are kept raw with their codeset', () => {
    const m = decodeQ931(Buffer.from('08020001059d2c01419628024142', 'hex'));
    assert.deepEqual(m.ies, [
      { id: 'raw', codeset: 5, ie: 0x2c, contents: Buffer.from('A') },
      { id: 'raw', codeset: 6, ie: 0x28, contents: Buffer.from('AB') },
    ]);
  });

  it('errors name the bad value: discriminator, call reference, message type, truncated IE, bad IE contents', () => {
    const cases: [string, RegExp][] = [
      ['0902000105', /protocol discriminator 0x09 is not 0x08/],
      ['080300000105', /call reference length 3 exceeds 2/],
      ['0802000133', /message type 0x33 is not one of the supported/],
      ['08020001057005', /IE 0x70 at octet 5 claims 5 content octets; only 0 remain/],
      ['0802000105180189', /basic interface; a primary rate interface/],
      ['080200010570028001', /called party number IE octet 0x01 is not a printable IA5 character/],
      ['08020001050400', /bearer capability IE has 0 content octets; at least 2 expected/],
      ['08020001059692', /locking shift to codeset 2 at octet 6 goes back from codeset 6/],
      ['08', /1 octets is shorter than the minimum of 3/],
    ];
    for (const [hex, re] of cases) {
      assert.throws(() => decodeQ931(Buffer.from(hex, 'hex')), (e: unknown) => e instanceof TonewallError && e.code === 'EQ931' && re.test(e.message), `${hex} should fail with ${String(re)}`);
    }
  });

  it('round-trips generated messages (property)', () => {
    const digits = fc.stringMatching(/^[0-9*#]{0,20}$/);
    const ie: fc.Arbitrary<Q931Ie> = fc.oneof(
      fc.record({ id: fc.constant('bearer-capability' as const), capability: fc.constantFrom(0, 8, 16), modeRate: fc.constant(0x90), layer1: fc.constantFrom(2, 3) }),
      fc.record({ id: fc.constant('cause' as const), location: fc.integer({ min: 0, max: 15 }), value: fc.integer({ min: 0, max: 127 }), diagnostics: fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)) }),
      fc.record({ id: fc.constant('channel-id' as const), exclusive: fc.boolean(), selection: fc.constant('indicated' as const), channels: fc.array(fc.integer({ min: 1, max: 31 }), { minLength: 1, maxLength: 3 }), dChannel: fc.constant(false) }),
      fc.record({ id: fc.constant('called-number' as const), typeOfNumber: fc.integer({ min: 0, max: 7 }), numberingPlan: fc.integer({ min: 0, max: 15 }), digits }),
      fc.record({ id: fc.constant('calling-number' as const), typeOfNumber: fc.integer({ min: 0, max: 7 }), numberingPlan: fc.integer({ min: 0, max: 15 }), presentation: fc.integer({ min: 0, max: 3 }), screening: fc.integer({ min: 0, max: 3 }), digits }),
      fc.record({ id: fc.constant('progress' as const), location: fc.integer({ min: 0, max: 15 }), description: fc.integer({ min: 0, max: 127 }) }),
      fc.record({ id: fc.constant('display' as const), text: fc.stringMatching(/^[ -~]{1,30}$/) }),
      fc.record({ id: fc.constant('restart-indicator' as const), restartClass: fc.constantFrom(0, 6, 7) }),
      fc.record({ id: fc.constant('call-state' as const), value: fc.integer({ min: 0, max: 63 }) }),
    );
    const types = Object.keys(MESSAGE_TYPES) as (keyof typeof MESSAGE_TYPES)[];
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 0, max: 0x7fff }), fc.constantFrom(...types), fc.array(ie, { maxLength: 6 }), (flag, value, type, ies) => {
        const msg: Q931Message = { callRef: { length: 2, flag, value }, type, ies: ies.map((x) => ({ ...x })) };
        assert.deepEqual(decodeQ931(encodeQ931(msg)), msg);
      }),
      { seed: 931, numRuns: 5000 },
    );
  });

  it(`fuzz: ${FUZZ_RUNS} random and ${FUZZ_RUNS} mutated messages decode or throw EQ931, never anything else`, function () {
    this.timeout(Math.max(120_000, FUZZ_RUNS / 5));
    const check = (bytes: Uint8Array) => {
      try {
        const m = decodeQ931(bytes);
        assert.deepEqual(decodeQ931(encodeQ931(m)), m);
      } catch (err) {
        if (!(err instanceof TonewallError) || err.code !== 'EQ931') throw err;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), check), { seed: 9310, numRuns: FUZZ_RUNS });
    const base = Buffer.from(LIBPRI_SETUP, 'hex');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.nat(base.length), (edits, cut) => {
        const b = Buffer.from(base);
        for (const [at, v] of edits) b[at] = v;
        check(b.subarray(0, Math.max(3, cut)));
      }),
      { seed: 9311, numRuns: FUZZ_RUNS },
    );
  });
});
