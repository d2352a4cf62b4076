/** collect_diagnostics (controller/fleet/diagnostics.ts) on a real log file: tail, card-like lines withheld, size cap. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectDiagnostics, tailLines } from '../../../controller/fleet/diagnostics';

const stats = () => ({ schemaVersion: 3, outboxDepth: 0, outboxMaxRows: 100, outboxLastSeq: 0, rows: {}, pageCount: 1, pageSize: 4096 });

describe('fleet diagnostics', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tw-diag-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('tails the last n complete lines, reading at most maxBytes from the end', () => {
    const f = join(dir, 'log');
    writeFileSync(f, Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n');
    assert.deepEqual(tailLines(f, 3), ['line 97', 'line 98', 'line 99']);
    assert.deepEqual(tailLines(f, 1000, 20), ['line 98', 'line 99'], 'the cut first line is dropped');
    assert.deepEqual(tailLines(f, 0), []);
  });

  it('withholds log lines with a card-like run, redacted config passes through, a missing file is reported', () => {
    const f = join(dir, 'log');
    writeFileSync(f, ['{"msg":"ok 1"}', '{"msg":"key 5555 5555 5555 4444"}', '{"msg":"ok 2"}'].join('\n'));
    const d = collectDiagnostics({ redactedConfig: { mqtt: { password: '***' } }, logFile: f, store: { stats }, health: undefined, info: { sw: { tonewall: '0.1.0' } }, logLines: 10 });
    assert.deepEqual(d['log'], { file: f, lines: ['{"msg":"ok 1"}', '{"msg":"ok 2"}'], logLinesWithheld: 1 });
    assert.deepEqual(d['config'], { mqtt: { password: '***' } });
    assert.equal((d['versions'] as Record<string, unknown>)['tonewall'], '0.1.0');
    const missing = collectDiagnostics({ redactedConfig: {}, logFile: join(dir, 'nope'), store: { stats }, health: undefined, info: {}, logLines: 10 });
    assert.match(String((missing['log'] as Record<string, unknown>)['error']), /ENOENT/);
  });

  it('stays under the size cap: oldest log lines go first, then the config', () => {
    const f = join(dir, 'log');
    writeFileSync(f, Array.from({ length: 1000 }, (_, i) => `{"msg":"${'x'.repeat(100)} ${i}"}`).join('\n'));
    const d = collectDiagnostics({ redactedConfig: { big: 'y'.repeat(1000) }, logFile: f, store: { stats }, health: undefined, info: {}, logLines: 1000, maxBytes: 16 * 1024 });
    assert.ok(Buffer.byteLength(JSON.stringify(d)) <= 16 * 1024);
    const lines = (d['log'] as { lines: string[] }).lines;
    assert.ok(lines.length > 0 && lines.length < 1000);
    assert.match(lines.at(-1) ?? '', / 999"}$/, 'the newest lines are kept');
    assert.match(String((d['truncated'] as string[])[0]), /^log: \d+ oldest lines$/);
    const tiny = collectDiagnostics({ redactedConfig: { big: 'y'.repeat(4000) }, logFile: undefined, store: { stats }, health: undefined, info: {}, logLines: 0, maxBytes: 2048 });
    assert.equal(tiny['config'], null);
    assert.deepEqual(tiny['truncated'], ['log: 0 oldest lines', 'config']);
  });
});
