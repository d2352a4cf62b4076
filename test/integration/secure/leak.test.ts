/**
 * Card data never leaks (issue #6, docs/leak-test.md), the npm-test size: a few payments through the
 * whole appliance (its own process; simulated E1 PRI card in another; sipp as the contact center;
 * Debian mosquitto; dumpcap on lo), each caller keying a unique canary card, expiry and code with
 * human timing while the agent drives the session over MQTT 5 rpc. Then every artifact is scanned
 * and the audio that left is run through SpanDSP and multimon-ng: zero hits, or the test fails.
 *
 * The positive controls prove the scan is not blind: a canary planted in each form, in a copy of
 * each real artifact, in a database row and an MQTT payload is found, and keyed tones are found by
 * the same audio path. `npm run test:leak` runs the same engine at 200 payments.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { mosquittoOrSkip } from '../../lib/mosquitto';
import { requirePeer } from '../../lib/sip-peers';
import { hasMultimon, hasSpanDsp, multimonDetect, spandspDetect } from '../../lib/dsp-peers';
import { canaryKeys } from '../../lib/leak-canaries';
import { buildNeedles, countShortTokens, excessOverChance, LeakScanner, type LeakField, type LeakForm } from '../../lib/leak-scan';
import { decodeG711, digitRunHits } from '../../lib/leak-rtp';
import { analyseRun, ArtifactScanner, formatReport, type LeakReport } from '../../lib/leak-analyse';
import { removeRun, runLeakPayments, type RunArtifacts } from '../../lib/leak-run';

const OPTIONS = { payments: 6, staggerMs: 1500, seed: 20261122, speechMs: 8000, logLevel: 'debug', sessionsTimeoutMs: 60_000 } as const;

/** DTMF for `keys` (Q.23 frequencies, 80 ms tones, 80 ms gaps), 8 kHz linear. */
function dtmf(keys: string): Int16Array {
  const low = [941, 697, 697, 697, 770, 770, 770, 852, 852, 852];
  const high = [1336, 1209, 1336, 1477, 1209, 1336, 1477, 1209, 1336, 1477];
  const out = new Int16Array(keys.length * 1280 + 1600);
  keys.split('').forEach((k, i) => {
    const d = k.charCodeAt(0) - 48;
    const f1 = low[d] ?? 0;
    const f2 = high[d] ?? 0;
    for (let n = 0; n < 640; n++) out[800 + i * 1280 + n] = Math.round(7000 * (Math.sin((2 * Math.PI * f1 * n) / 8000) + Math.sin((2 * Math.PI * f2 * n) / 8000)));
  });
  return out;
}

describe('leak test: payments through the whole appliance, every artifact scanned (issue #6)', function () {
  this.timeout(240_000);
  let run: RunArtifacts | undefined;
  let report: LeakReport;

  before(async function () {
    mosquittoOrSkip(this);
    for (const peer of ['sipp', 'dumpcap', 'tshark', 'sox', 'openssl']) requirePeer(this, peer);
    if (!hasSpanDsp() || !hasMultimon()) {
      if (process.env.CI) throw new Error('SpanDSP (gcc, libspandsp-dev) and multimon-ng are required under CI');
      this.skip();
    }
    run = await runLeakPayments(OPTIONS);
    report = analyseRun(run, OPTIONS);
  });

  after(() => {
    if (run) removeRun(run);
  });

  it('completes every payment: approved, the canary it keyed, every key masked, a clean second check, a timely start', () => {
    assert.deepEqual(report.problems, [], formatReport(report).join('\n'));
    assert.equal(report.approved, OPTIONS.payments);
    assert.equal(report.applianceExitCode, 0, 'the appliance stops cleanly on SIGTERM');
  });

  it('had something to scan: audio per call, pay events, log lines, SIP messages, rows, a heap snapshot', () => {
    const size = (name: string): number => report.artifacts.find((a) => a.name === name)?.bytes ?? 0;
    assert.ok(report.audio.streams >= OPTIONS.payments, `${report.audio.streams} RTP streams`);
    // Speech, 23 keys (≥ 150 ms each), more speech: every call sent well over 8 s of audio.
    assert.ok(report.audio.minSecondsPerCall >= 8, `shortest stream ${report.audio.minSecondsPerCall} s`);
    const payEnded = run?.messages.filter((m) => m.topic.endsWith('/events/pay') && m.payload.toString().includes('"pay.ended"')) ?? [];
    assert.equal(payEnded.length, OPTIONS.payments);
    assert.ok(size('appliance log file') > 1000);
    assert.ok(size('heap snapshot') > 1 << 20);
    assert.ok(size('sqlite (running) tonewall.db-wal') > 0 || size('sqlite (running) tonewall.db') > 4096);
    const trace = readFileSync(run?.files.find((f) => f.kind === 'sip')?.path ?? '', 'utf8');
    // One INVITE per call, or more where a loaded machine retransmitted one (RFC 3261 Timer A).
    const invites = new Set([...trace.matchAll(/^INVITE sip:[^]*?^Call-ID: *(\S+)/gm)].map((m) => m[1]));
    assert.equal(invites.size, OPTIONS.payments);
  });

  it('finds no canary in any artifact, no canary digits in the audio, no excess of short values', () => {
    const verdict = formatReport(report).join('\n');
    assert.deepEqual(report.hits, [], verdict);
    assert.deepEqual(report.audio.runHits, [], verdict);
    assert.equal(report.audio.digitsSpanDsp + report.audio.digitsMultimon + report.audio.rfc4733Events, 0, verdict);
    assert.equal(report.chance.failed, false, verdict);
    assert.equal(report.decoyValueHits, 0, 'rule 2 stays quiet on values nobody keyed');
  });

  describe('positive controls (the scan is not blind)', () => {
    it('finds a planted canary in every field and form, and not inside a longer digit run', () => {
      const c = run?.canaries.canaries[0];
      assert.ok(c);
      const needles = buildNeedles([c]);
      const scanner = new LeakScanner(needles);
      const seen = new Set<string>();
      for (const n of needles) {
        const buf = Buffer.concat([Buffer.from('noise {"x": '), n.bytes, Buffer.from(' } noise')]);
        assert.ok(
          scanner.scan('synthetic', buf).some((h) => h.field === n.field && h.form === n.form),
          `${n.field} in form ${n.form}`,
        );
        seen.add(`${n.field}/${n.form}`);
      }
      for (const f of ['pan/plain', 'pan/spaced', 'pan/utf16', 'pan/json-numbers', 'pan/json-strings', 'expiry+cvv/keyed', 'cvv/json-numbers', 'expiry/utf16']) assert.ok(seen.has(f), f);
      const inside = Buffer.from(`1${c.cvv}2 1 ${c.cvv.split('').join(' ')} 2`);
      assert.deepEqual(new LeakScanner(needles.filter((n) => n.field === 'cvv')).scan('run', inside), []);
    });

    it('finds a canary planted in a copy of each real artifact, in the form that artifact would hold it', () => {
      assert.ok(run);
      const c = run.canaries.canaries[1] ?? run.canaries.canaries[0];
      assert.ok(c);
      const forms: LeakForm[] = ['plain', 'spaced', 'utf16', 'json-numbers', 'json-strings', 'inspect', 'grouped', 'dashed', 'comma-spaced', 'utf16-spaced'];
      const needles = buildNeedles([c]).filter((n) => n.field === 'pan' || n.field === 'cvv');
      const files = [...run.files, { name: 'mqtt dump', path: join(run.dir, 'mqtt-messages-recorder-on-.bin'), kind: 'mqtt' as const }];
      files.forEach((f, i) => {
        const field: LeakField = i % 2 === 0 ? 'pan' : 'cvv';
        // The WAL index is not searched for short values in UTF-16 (its page-number slots).
        const candidates = needles.filter((n) => n.field === field && forms.includes(n.form) && !(f.kind === 'shm' && n.form === 'utf16'));
        const needle = candidates[i % candidates.length];
        assert.ok(needle);
        const buf = readFileSync(f.path);
        // In a heap snapshot, as one more string of its strings section.
        const at = f.kind === 'heap' ? buf.lastIndexOf('"strings":[') + 11 : buf.length >> 1;
        const plant = f.kind === 'heap' ? Buffer.concat([Buffer.from('"'), needle.bytes, Buffer.from('",')]) : Buffer.concat([Buffer.from(' | '), needle.bytes, Buffer.from(' | ')]);
        const planted = Buffer.concat([buf.subarray(0, at), plant, buf.subarray(at)]);
        const scan = new ArtifactScanner(run?.canaries ?? { canaries: [], decoys: [] }, run?.dir ?? '');
        const hits = scan.scan(f.name, f.kind, planted, []);
        assert.deepEqual(
          hits.map((h) => `${h.canary} ${h.field} ${h.form}`),
          [`${c.index} ${field} ${needle.form}`],
          `${f.name}: planted ${field} as ${needle.form}`,
        );
      });
    });

    it('finds a short value standing alone in a log record, a database row and an MQTT payload (rule 2)', () => {
      assert.ok(run);
      const c = run.canaries.canaries[2] ?? run.canaries.canaries[0];
      assert.ok(c);
      const scan = new ArtifactScanner(run.canaries, run.dir);
      const log = Buffer.concat([readFileSync(join(run.dir, 'appliance.log')), Buffer.from(JSON.stringify({ level: 'info', msg: 'entered', code: c.cvv }) + '\n')]);
      assert.deepEqual(
        scan.scan('planted log', 'log', log).map((h) => h.field),
        ['cvv'],
      );
      const dbDir = join(run.dir, 'planted-db');
      mkdirSync(dbDir);
      const stopped = run.files.find((f) => f.name === 'sqlite (stopped) tonewall.db');
      assert.ok(stopped);
      copyFileSync(stopped.path, join(dbDir, 'tonewall.db'));
      const db = new Database(join(dbDir, 'tonewall.db'));
      db.exec('CREATE TABLE planted (note TEXT)');
      db.prepare('INSERT INTO planted (note) VALUES (?)').run(`card valid to ${c.expiry}`);
      db.close();
      assert.deepEqual(
        scan.scanFile('planted db', 'db', join(dbDir, 'tonewall.db')).map((h) => h.field),
        ['expiry'],
      );
      const msg = { topic: 'tonewall/v1/tw-leak-0001/events/pay', payload: Buffer.from(JSON.stringify({ data: { expiry: c.expiry } })), retain: false };
      assert.deepEqual(
        scan.scanMessages('planted mqtt', [...run.messages, msg]).map((h) => h.field),
        ['expiry'],
      );
    });

    it('flags short values as bare numbers above the decoy baseline (rule 3)', () => {
      assert.ok(run);
      const leaked = run.canaries.canaries.map((c) => `code ${c.cvv} exp ${c.expiry}`).join('\n');
      const count = countShortTokens(leaked, run.canaries.canaries, run.canaries.decoys);
      assert.equal(count.canary, 2 * OPTIONS.payments);
      assert.equal(excessOverChance(count), true);
      assert.equal(excessOverChance({ canary: report.chance.decoy, decoy: report.chance.decoy }), false);
    });

    it('hears keyed canary digits through the same audio path: G.711 by sox, SpanDSP, multimon-ng', () => {
      assert.ok(run);
      const c = run.canaries.canaries[0];
      assert.ok(c);
      const keys = canaryKeys(c);
      const dir = join(run.dir, 'control');
      mkdirSync(dir);
      const linear = dtmf(keys);
      writeFileSync(join(dir, 'tones.raw'), Buffer.from(linear.buffer, linear.byteOffset, linear.byteLength));
      const enc = spawnSync('sox', ['-t', 'raw', '-r', '8000', '-e', 'signed-integer', '-b', '16', '-c', '1', join(dir, 'tones.raw'), '-t', 'ul', join(dir, 'tones.ul')], { encoding: 'utf8' });
      assert.equal(enc.status, 0, enc.stderr);
      const decoded = decodeG711(readFileSync(join(dir, 'tones.ul')), 0, join(dir, 'tones.wav'));
      const span = spandspDetect(decoded)
        .map((d) => d.digit)
        .join('');
      const mm = multimonDetect(decoded);
      assert.equal(span, keys);
      assert.ok(digitRunHits('spandsp', span, [{ index: c.index, keys }]).length > 0);
      assert.ok(digitRunHits('multimon-ng', mm, [{ index: c.index, keys }]).length > 0, `multimon-ng heard ${mm.length} digits`);
    });
  });
});
