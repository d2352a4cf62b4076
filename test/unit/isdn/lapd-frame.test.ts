import assert from 'node:assert/strict';
import fc from 'fast-check';

/** Fuzz inputs per property: the normal run's default, or TONEWALL_FUZZ_RUNS (e.g. 1000000 for the full campaign). */
const FUZZ_RUNS = Number(process.env.TONEWALL_FUZZ_RUNS) || 200_000;
import { decodeLapdFrame, encodeLapdFrame, LAPD_N201, type LapdFrame } from '../../../controller/pstn/isdn/lapd-frame';
import { TonewallError } from '../../../hw/base/errors';

describe('Q.921 LAPD frame codec', () => {
  it('§3.3/§3.6: decodes the SABME libpri sends as network (02 01 7f) and a UA reply (00 01 73)', () => {
    const sabme = decodeLapdFrame(Buffer.from('02017f', 'hex'));
    assert.deepEqual(sabme, { sapi: 0, cr: 1, tei: 0, control: { format: 'U', kind: 'SABME', pf: true }, info: Buffer.alloc(0) });
    const ua = decodeLapdFrame(Buffer.from('000173', 'hex'));
    assert.equal(ua.cr, 0);
    assert.deepEqual(ua.control, { format: 'U', kind: 'UA', pf: true });
  });

  it('§3.4: I frame has two control octets with N(S), N(R) modulo 128 and P', () => {
    const bytes = encodeLapdFrame({ sapi: 0, cr: 1, tei: 0, control: { format: 'I', ns: 127, nr: 5, p: true }, info: Buffer.from([8, 2, 0, 1, 5]) });
    assert.equal(bytes.toString('hex'), '0201fe0b0802000105');
    assert.deepEqual(decodeLapdFrame(bytes).control, { format: 'I', ns: 127, nr: 5, p: true });
  });

  it('§3.6.2: RR, RNR and REJ carry N(R) and P/F', () => {
    for (const [kind, code] of [['RR', '01'], ['RNR', '05'], ['REJ', '09']] as const) {
      const bytes = encodeLapdFrame({ sapi: 0, cr: 0, tei: 0, control: { format: 'S', kind, nr: 64, pf: true }, info: Buffer.alloc(0) });
      assert.equal(bytes.toString('hex'), `0001${code}81`);
      assert.deepEqual(decodeLapdFrame(bytes).control, { format: 'S', kind, nr: 64, pf: true });
    }
  });

  it('rejects short frames, wrong EA bits, unknown U codes and info on S frames, naming the octet', () => {
    const cases: [string, RegExp][] = [
      ['0001', /2 octets is shorter than the minimum of 3/],
      ['010173', /EA=1/],
      ['000073', /EA=0/],
      ['0001ff', /U frame control octet 0xff/],
      ['00010100ff', /RR frame carries 1 information octets/],
      ['000100', /I frame of 3 octets/],
      ['00011d00', /S frame control octet 0x1d/],
    ];
    for (const [hex, re] of cases) assert.throws(() => decodeLapdFrame(Buffer.from(hex, 'hex')), (e: unknown) => e instanceof TonewallError && e.code === 'ELAPD' && re.test(e.message), hex);
  });

  it('§5.9.3: an information field longer than N201 = 260 is refused both ways', () => {
    const info = Buffer.alloc(LAPD_N201 + 1);
    assert.throws(() => encodeLapdFrame({ sapi: 0, cr: 0, tei: 0, control: { format: 'I', ns: 0, nr: 0, p: false }, info }), /exceeds N201 = 260/);
    assert.throws(() => decodeLapdFrame(Buffer.concat([Buffer.from('00010000', 'hex'), info])), /exceeds N201 = 260/);
  });

  it('round-trips every valid frame (property)', () => {
    const control = fc.oneof(
      fc.record({ format: fc.constant('I' as const), ns: fc.integer({ min: 0, max: 127 }), nr: fc.integer({ min: 0, max: 127 }), p: fc.boolean() }),
      fc.record({ format: fc.constant('S' as const), kind: fc.constantFrom('RR' as const, 'RNR' as const, 'REJ' as const), nr: fc.integer({ min: 0, max: 127 }), pf: fc.boolean() }),
      fc.record({ format: fc.constant('U' as const), kind: fc.constantFrom('SABME' as const, 'DM' as const, 'DISC' as const, 'UA' as const), pf: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.constantFrom(0 as const, 1 as const), fc.integer({ min: 0, max: 127 }), control, fc.uint8Array({ maxLength: 40 }), (sapi, cr, tei, c, data) => {
        const frame: LapdFrame = { sapi, cr, tei, control: { ...c }, info: c.format === 'I' ? Buffer.from(data) : Buffer.alloc(0) };
        assert.deepEqual(decodeLapdFrame(encodeLapdFrame(frame)), frame);
      }),
      { seed: 921, numRuns: 5000 },
    );
  });

  it(`fuzz: ${FUZZ_RUNS} random frames decode or throw ELAPD, never anything else`, function () {
    this.timeout(Math.max(20_000, FUZZ_RUNS / 5));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const f = decodeLapdFrame(bytes);
          assert.deepEqual(decodeLapdFrame(encodeLapdFrame(f)), f);
        } catch (err) {
          if (!(err instanceof TonewallError) || err.code !== 'ELAPD') throw err;
        }
      }),
      { seed: 9210, numRuns: FUZZ_RUNS },
    );
  });
});
