/**
 * Factory reset's wipe (controller/app/factory-reset.ts) on a real directory: every entry of the
 * state directory goes (database files, nested key directories), the directory itself stays.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { wipeStateDir } from '../../../controller/app/factory-reset';
import { makeTempDir } from '../../lib/sip-peers';

describe('factory reset: state directory wipe', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('removes every entry, nested ones included, and keeps the directory', () => {
    dir = makeTempDir('factory-reset');
    writeFileSync(join(dir, 'tonewall.db'), 'x');
    writeFileSync(join(dir, 'tonewall.db-wal'), 'x');
    mkdirSync(join(dir, 'test-processor/keys'), { recursive: true });
    writeFileSync(join(dir, 'test-processor/keys/ca.key'), 'x');
    assert.equal(wipeStateDir(dir, nullLogger), 3);
    assert.ok(existsSync(dir));
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a missing directory counts as empty', () => {
    dir = makeTempDir('factory-reset');
    assert.equal(wipeStateDir(join(dir, 'absent'), nullLogger), 0);
  });
});
