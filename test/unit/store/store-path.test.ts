import assert from 'node:assert/strict';
import { configSchema } from '../../../controller/config/schema';
import { storePath } from '../../../controller/store/open-from-config';

describe('store/open-from-config', () => {
  it('puts a relative store.path under device.stateDir and keeps an absolute one', () => {
    const c = configSchema.parse({ device: { stateDir: '/var/lib/tonewall' } });
    assert.equal(storePath(c.store, c.device), '/var/lib/tonewall/tonewall.db');
    assert.equal(storePath({ ...c.store, path: '/data/x.db' }, c.device), '/data/x.db');
  });
});
