import assert from 'node:assert/strict';
import { TonewallError } from '../../../hw/base/errors';
import { calledNumberOf, routeNumber } from '../../../controller/call/number-routing';
import { configSchema } from '../../../controller/config/schema';

describe('SIP → PSTN number routing (sip.routing)', () => {
  it('RFC 3261 §19.1.1 / RFC 3966: the called number is the Request-URI user, without user parameters and visual separators', () => {
    assert.equal(calledNumberOf('sip:+44-20-7123-4567@appliance.example;transport=udp'), '+442071234567');
    assert.equal(calledNumberOf('sip:0171234567;phone-context=+49@gw'), '0171234567');
    assert.equal(calledNumberOf('sips:%2B15551234@gw'), '+15551234');
    assert.equal(calledNumberOf('tel:+1-555-1234;phone-context=example.com'), '+15551234');
    assert.equal(calledNumberOf('sip:*72#@gw'), '*72#');
  });

  it('a Request-URI without a dialable user is an ENUMBER error naming it', () => {
    for (const uri of ['sip:gw.example.net', 'sip:alice@gw', 'sip:@gw', 'sip:%zz@gw']) {
      assert.throws(() => calledNumberOf(uri), (e: unknown) => e instanceof TonewallError && e.code === 'ENUMBER', uri);
    }
  });

  it('first matching rule wins: prefix or whole-number regex, strip then prepend, trunk', () => {
    const rules = [
      { prefix: '+44', strip: 3, prepend: '0', trunk: 'span/1' },
      { regex: '9[0-9]{3}', strip: 1, prepend: '', trunk: 'port/2' },
      { prefix: '', strip: 0, prepend: '00', trunk: undefined },
    ];
    assert.deepEqual(routeNumber('+442071234567', rules), { calledNumber: '02071234567', trunk: 'span/1' });
    assert.deepEqual(routeNumber('9123', rules), { calledNumber: '123', trunk: 'port/2' });
    assert.deepEqual(routeNumber('91234', rules), { calledNumber: '0091234', trunk: undefined }, 'regex must match the whole number');
  });

  it('no rules: dial the number as is; rules without a match: no route', () => {
    assert.deepEqual(routeNumber('5551234', []), { calledNumber: '5551234', trunk: undefined });
    assert.equal(routeNumber('5551234', [{ prefix: '9', strip: 1, prepend: '' }]), undefined);
  });

  it('config: rules get defaults; bad prefix, trunk and regex are reported at load', () => {
    const ok = configSchema.parse({ sip: { routing: [{ prefix: '9' }] } }).sip.routing;
    assert.deepEqual(ok, [{ prefix: '9', strip: 0, prepend: '' }]);
    assert.deepEqual(configSchema.parse({}).sip.routing, []);
    const bad = configSchema.safeParse({ sip: { routing: [{ prefix: '9a', trunk: 'line/1', regex: '(' }] } });
    assert.equal(bad.success, false);
    const paths = bad.error?.issues.map((i) => i.path.join('.')) ?? [];
    for (const p of ['sip.routing.0.prefix', 'sip.routing.0.trunk', 'sip.routing.0.regex']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
  });
});
