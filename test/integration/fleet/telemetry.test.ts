/**
 * The application's telemetry providers (controller/app/health.ts) on real files and a temp SQLite
 * store: thermal zones, the MQTT client certificate's expiry (openssl), SIP trunk states to
 * `sip/{trunk}` and the sipTrunks check, span alarms to alarms + events/alarm, the outbox bound.
 * The reporter is not connected: retained state is read back from it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { certNotAfterMs, FleetTelemetry, readHottestZone, sipTrunkBody, type SipTrunkStateLike } from '../../../controller/app/health';
import { configSchema } from '../../../controller/config/schema';
import { checkPayload } from '../../../controller/fleet/payload-schemas';
import { FleetReporter } from '../../../controller/fleet/reporter';
import { Store } from '../../../controller/store/store';
import { requireOpenssl } from '../../lib/secure-certs';
import { ManualClock } from '../../lib/manual-clock';

describe('fleet telemetry providers (controller/app/health.ts)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tw-telemetry-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('temperature: the hottest readable thermal zone, with its type; none without a thermal dir', () => {
    const zone = (n: number, temp: string, type?: string) => {
      mkdirSync(join(dir, `thermal_zone${n}`));
      writeFileSync(join(dir, `thermal_zone${n}`, 'temp'), temp);
      if (type) writeFileSync(join(dir, `thermal_zone${n}`, 'type'), `${type}\n`);
    };
    zone(0, '45000\n', 'cpu-thermal');
    zone(1, '71500\n', 'gpu-thermal');
    zone(2, 'garbage');
    mkdirSync(join(dir, 'cooling_device0'));
    assert.deepEqual(readHottestZone(dir), { celsius: 71.5, zone: 'gpu-thermal' });
    assert.equal(readHottestZone(join(dir, 'absent')), undefined);
  });

  it('MQTT client certificate: notAfter from the PEM; absent or unreadable → undefined', function () {
    requireOpenssl(this);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '40', '-subj', '/CN=tw-test-0001'], { cwd: dir, stdio: 'ignore' });
    const ms = certNotAfterMs(join(dir, 'c.pem'));
    assert.ok(ms !== undefined);
    const days = (ms - Date.now()) / 86_400_000;
    assert.ok(days > 39 && days <= 40, String(days));
    assert.equal(certNotAfterMs(join(dir, 'k.pem')), undefined);
    assert.equal(certNotAfterMs(undefined), undefined);
  });

  it('SIP trunks → sip/{trunk} and the sipTrunks check; span alarms → alarms and events; the outbox bound', () => {
    const clock = new ManualClock(1_767_000_000_000);
    const cfg = configSchema.parse({ device: { id: 'tw-tele-0001', stateDir: dir }, mqtt: { healthSampleS: 1 } });
    const store = Store.open({ path: join(dir, 'db.sqlite'), log: nullLogger, clock, outboxMaxRows: 100 });
    const reporter = new FleetReporter({ mqtt: cfg.mqtt, device: cfg.device, store, log: nullLogger, clock, info: () => ({}) });
    const t = new FleetTelemetry({ reporter, store, mqtt: cfg.mqtt, stateDir: dir, clock, log: nullLogger, parts: () => ({}), thermalDir: join(dir, 'none') });
    try {
      const main: SipTrunkStateLike = { name: 'main', up: true, reachability: 'up', registration: 'registered', registered: true, lastError: null, rttMs: 12 };
      const backup: SipTrunkStateLike = { name: 'backup', up: false, reachability: 'down', registration: 'off', registered: false, lastError: 'OPTIONS timed out', rttMs: null };
      const states = [main, backup];
      const source = Object.assign(new EventEmitter(), { trunkStates: () => states });
      t.watchSipTrunks(source);
      assert.deepEqual(reporter.retainedBody('sip/main'), { trunk: 'main', registration: 'registered', reachable: true, optionsRttMs: 12 });
      assert.deepEqual(reporter.retainedBody('sip/backup'), sipTrunkBody(backup));
      assert.deepEqual(sipTrunkBody(backup), { trunk: 'backup', registration: 'not-required', reachable: false, lastError: 'OPTIONS timed out' });
      t.health.publishNow();
      assert.deepEqual(reporter.retainedBody('health')?.checks.sipTrunks, { status: 'degraded', up: 1, total: 2 });
      states[1] = { ...backup, up: true, reachability: 'up' };
      source.emit('trunk-state', states[1]);
      assert.equal(reporter.retainedBody('sip/backup')?.reachable, true);

      const pri = { span: 2, type: 'E1' as const, framing: 'crc4' as const, lineCoding: 'hdb3' as const, configured: 'accepted' as const, alarms: ['AIS' as const], layer1Up: false, dchannelUp: false, channels: { total: 30, inUse: 0, maintenance: 0 }, counters: { slips: 1, crcErrors: 2, framingErrors: 0, lineCodeViolations: 0 } };
      t.onSpanState(pri);
      const span2 = reporter.retainedBody('spans/2');
      assert.deepEqual([span2?.state, span2?.layer1, span2?.framing, span2?.channels, span2?.counters?.['crcErrors']], ['alarm', 'down', 'crc4', 30, 2]);
      assert.equal(checkPayload('spans/2', { v: 1, ts: 1, dev: 'd', boot: 'b', conn: 1, seq: 1, ...span2 }), undefined, 'the mapped body matches the span schema');
      assert.equal(reporter.retainedBody('alarms/span-2-ais')?.severity, 'major');
      t.onSpanState({ ...pri, alarms: [], layer1Up: true, dchannelUp: true });
      assert.deepEqual([reporter.retainedBody('spans/2')?.state, reporter.retainedBody('alarms/span-2-ais')], ['up', undefined]);
      store.outbox.pending(10).forEach((e) => store.outbox.ack(e.seq));

      t.onLineEvent({ kind: 'span-alarm', span: 1, alarms: ['LOS'] });
      assert.equal(reporter.retainedBody('alarms/span-1-los')?.severity, 'major');
      t.onLineEvent({ kind: 'span-alarm', span: 1, alarms: [] });
      assert.equal(reporter.retainedBody('alarms/span-1-los'), undefined);
      assert.deepEqual(store.outbox.pending(10).map((e) => e.type), ['alarm.raised', 'alarm.cleared']);

      for (let i = 0; i < 78; i++) store.outbox.append('events/system', { i });
      t.checkOutbox();
      assert.ok(reporter.retainedBody('alarms/outbox-near-full'), 'raised at 80 of 100');
    } finally {
      t.stop();
      store.close();
    }
  });
});
