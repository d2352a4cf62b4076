/** The fleet-pushed configuration in SQLite (migration 3): accept, report, reopen, version order. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { Store } from '../../../controller/store/store';

describe('store: fleet_config', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tw-store-fc-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts empty, keeps the accepted version across a reopen, refuses a version not above it', () => {
    const path = join(dir, 'db.sqlite');
    const s1 = Store.open({ path, log: nullLogger });
    assert.deepEqual(s1.fleetConfig.get(), { version: 0, overlay: {}, reported: undefined });
    s1.fleetConfig.accept(2, { log: { level: 'debug' } }, { version: 2, state: 'applied', errors: [], appliedAt: 1 });
    assert.throws(() => s1.fleetConfig.accept(2, {}, {}), /version 2 is not above the applied version 2/);
    s1.fleetConfig.report({ version: 3, state: 'rejected', errors: ['x: bad'], appliedAt: 2 });
    s1.close();
    const s2 = Store.open({ path, log: nullLogger });
    const rec = s2.fleetConfig.get();
    assert.deepEqual([rec.version, rec.overlay], [2, { log: { level: 'debug' } }], 'a rejected report keeps the applied version and overlay');
    assert.equal((rec.reported as { state?: string } | undefined)?.state, 'rejected');
    s2.close();
  });

  it('stats give figures, never contents', () => {
    const s = Store.open({ path: join(dir, 'db.sqlite'), log: nullLogger, outboxMaxRows: 500 });
    s.outbox.append('events/system', { what: 'x' });
    const st = s.stats();
    assert.deepEqual([st.outboxDepth, st.outboxMaxRows, st.outboxLastSeq, st.rows['outbox'], st.rows['fleet_config']], [1, 500, 1, 1, 0]);
    assert.ok(st.schemaVersion >= 3 && st.pageCount > 0 && st.pageSize > 0);
    s.close();
  });
});
