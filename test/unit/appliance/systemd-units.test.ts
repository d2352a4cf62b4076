/**
 * The appliance's systemd units, udev rules and default configuration (DESIGN.md §7, issue 8):
 * the service is Type=notify with a watchdog and bounded restarts, reaches the card's tty and GPIO,
 * keeps V8's JIT working, and `systemd-analyze security --offline=true` rates it at most 2.0.
 * The systemd-analyze checks need the binary: missing, they fail under CI and skip otherwise.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../../controller/config/load';

const REPO = resolve(__dirname, '../../../..');
const UNIT = join(REPO, 'systemd/tonewall.service');
const BOARD_UNIT = join(REPO, 'systemd/tonewall-qemu-board.service');
const REBOOT_PATH = join(REPO, 'systemd/tonewall-reboot.path');
const REBOOT_UNIT = join(REPO, 'systemd/tonewall-reboot.service');
const MAX_EXPOSURE = 2.0;

/** Section -> key -> every value (systemd allows repeated keys). Comments and blank lines dropped. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec?.[1]) {
      current = new Map();
      sections.set(sec[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current && eq > 0, `unit line outside a section or without "=": ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

function value(unit: Map<string, Map<string, string[]>>, section: string, key: string): string | undefined {
  const all = unit.get(section)?.get(key);
  return all?.[all.length - 1];
}

function systemdAnalyzeOrSkip(ctx: Mocha.Context): void {
  if (spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0) return;
  if (process.env['CI']) throw new Error('systemd-analyze is not installed (CI installs systemd)');
  ctx.skip();
}

describe('appliance: systemd/tonewall.service', () => {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));

  it('is Type=notify with a watchdog and readiness from the daemon', () => {
    assert.equal(value(unit, 'Service', 'Type'), 'notify');
    const watchdogS = Number(value(unit, 'Service', 'WatchdogSec'));
    assert.ok(watchdogS >= 5 && watchdogS <= 60, `WatchdogSec ${watchdogS} s outside 5..60 s`);
    assert.match(value(unit, 'Service', 'NotifyAccess') ?? '', /^(main|all)$/);
    assert.match(value(unit, 'Service', 'ExecStart') ?? '', /^\/bin\/sh \/opt\/tonewall\/scripts\/ota-start\.sh run --config \/etc\/tonewall\/config\.json$/);
  });

  it('runs the update boot check before every start, never blocking the start on it', () => {
    // "-": a failing check must not keep the appliance down (docs/mqtt/ota.md).
    assert.match(value(unit, 'Service', 'ExecStartPre') ?? '', /^-\/bin\/sh \/opt\/tonewall\/scripts\/ota-boot-check\.sh \/var\/lib\/tonewall\/ota [1-9]$/);
    const stateDirectory = value(unit, 'Service', 'StateDirectory');
    assert.equal(stateDirectory, 'tonewall', 'the update root /var/lib/tonewall/ota lives in the service state directory');
  });

  it('restarts on failure, within start limits', () => {
    assert.equal(value(unit, 'Service', 'Restart'), 'on-failure');
    assert.ok(Number(value(unit, 'Unit', 'StartLimitBurst')) >= 1);
    assert.ok(Number(value(unit, 'Unit', 'StartLimitIntervalSec')) > Number(value(unit, 'Service', 'RestartSec')) * Number(value(unit, 'Unit', 'StartLimitBurst')));
  });

  it('runs unprivileged yet reaches the card tty and GPIO', () => {
    assert.equal(value(unit, 'Service', 'User'), 'tonewall');
    assert.deepEqual(value(unit, 'Service', 'SupplementaryGroups')?.split(/\s+/).sort(), ['dialout', 'gpio']);
    assert.equal(value(unit, 'Service', 'CapabilityBoundingSet'), '');
    const devices = unit.get('Service')?.get('DeviceAllow') ?? [];
    for (const dev of ['char-ttyACM', 'char-ttyUSB', 'char-ttyS', 'char-gpiochip']) {
      assert.ok(devices.includes(`${dev} rw`), `DeviceAllow lacks "${dev} rw" (has ${devices.join(', ')})`);
    }
    assert.equal(value(unit, 'Service', 'DevicePolicy'), 'closed');
    assert.match(value(unit, 'Service', 'ReadWritePaths') ?? '', /\/sys\/class\/gpio/);
  });

  it('keeps V8 JIT working (no MemoryDenyWriteExecute) and can lock card-data pages', () => {
    assert.notEqual(value(unit, 'Service', 'MemoryDenyWriteExecute'), 'yes');
    assert.ok(value(unit, 'Service', 'LimitMEMLOCK'), 'LimitMEMLOCK must allow mlock of card-data pages');
    assert.match(value(unit, 'Service', 'SystemCallFilter') ?? '', /^~/);
  });

  it('a fleet reboot needs no privilege in tonewall: a path unit on its runtime directory starts a root oneshot', () => {
    const path = parseUnit(readFileSync(REBOOT_PATH, 'utf8'));
    assert.equal(value(path, 'Path', 'PathExists'), `/run/${value(unit, 'Service', 'RuntimeDirectory') ?? ''}/reboot-request`);
    assert.equal(value(path, 'Path', 'Unit'), 'tonewall-reboot.service');
    const svc = readFileSync(REBOOT_UNIT, 'utf8');
    assert.match(svc, /systemctl --no-block reboot/);
    assert.doesNotMatch(svc, /^\[Install\]/m, 'started by the path unit only');
  });

  it('systemd-analyze verify finds nothing wrong', function () {
    systemdAnalyzeOrSkip(this);
    const r = spawnSync('systemd-analyze', ['verify', UNIT, BOARD_UNIT, REBOOT_PATH, REBOOT_UNIT], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', `systemd-analyze verify printed: ${r.stderr}`);
  });

  it(`has an exposure of at most ${MAX_EXPOSURE} (systemd-analyze security --offline=true)`, function () {
    systemdAnalyzeOrSkip(this);
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8' });
    const m = /Overall exposure level for tonewall\.service: (\d+(?:\.\d+)?)/.exec(r.stdout);
    assert.ok(m?.[1], `no exposure figure in systemd-analyze output: ${r.stdout.slice(-300)} ${r.stderr}`);
    const exposure = Number(m[1]);
    process.stdout.write(`      exposure of tonewall.service: ${exposure.toFixed(1)}\n`);
    assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} exceeds ${MAX_EXPOSURE}`);
  });
});

describe('appliance: systemd/tonewall-qemu-board.service and udev rules', () => {
  it('the board unit runs only under QEMU, before tonewall', () => {
    const unit = parseUnit(readFileSync(BOARD_UNIT, 'utf8'));
    assert.equal(value(unit, 'Unit', 'ConditionVirtualization'), 'qemu');
    assert.equal(value(unit, 'Unit', 'Before'), 'tonewall.service');
    assert.equal(value(unit, 'Service', 'Type'), 'oneshot');
  });

  it('names the card /dev/tonewall-card for CDC-ACM, and for QEMU PCI and USB serial ports', () => {
    const rules = readFileSync(join(REPO, 'systemd/60-tonewall.rules'), 'utf8').split('\n').filter((l) => l.includes('SYMLINK+="tonewall-card"'));
    for (const kernel of ['ttyACM', 'ttyS', 'ttyUSB']) {
      const rule = rules.find((l) => l.includes(`KERNEL=="${kernel}[0-9]*"`));
      assert.ok(rule, `no tonewall-card rule for ${kernel}`);
      assert.match(rule, /GROUP="dialout", MODE="0660"/);
    }
  });
});

describe('appliance: firmware/config/default.json', () => {
  it('is a valid configuration for a board: real card on /dev/tonewall-card, no simulator, external broker', () => {
    const { config } = loadConfig({ file: join(REPO, 'firmware/config/default.json'), env: {} });
    assert.equal(config.card.transport, 'serial');
    assert.equal(config.card.path, '/dev/tonewall-card');
    assert.equal(config.card.sim.enabled, false);
    assert.equal(config.mqtt.embeddedBroker.enabled, false);
    assert.equal(config.sip.demoEndpoint.enabled, false);
    assert.equal(config.device.stateDir, '/var/lib/tonewall');
  });
});
