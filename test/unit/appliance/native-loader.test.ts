/** The native addon loader's documented order and its failure reporting (firmware/native/loader.ts). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadNativeAddon, nativeCandidates } from '../../../firmware/native/loader';

describe('appliance: native addon loader', () => {
  it('tries $TONEWALL_NATIVE_ADDON, then the node-pre-gyp module_path for the arch, then build/Release', () => {
    assert.deepEqual(nativeCandidates('/opt/tonewall/firmware/native', 'arm64', { TONEWALL_NATIVE_ADDON: '/tmp/x.node' }), [
      '/tmp/x.node',
      '/opt/tonewall/firmware/native/lib/binding/napi-v8-linux-arm64/tonewall_native.node',
      '/opt/tonewall/firmware/native/build/Release/tonewall_native.node',
    ]);
    assert.equal(nativeCandidates('/n', 'x64', {}).length, 2);
  });

  it('reports every candidate it could not use and returns no addon', () => {
    const r = loadNativeAddon({ nativeDir: join(__dirname, 'no-such-dir'), env: {}, arch: 'arm64' });
    assert.equal(r.addon, undefined);
    assert.deepEqual(r.tried.map((t) => t.error), ['not found', 'not found']);
  });

  it('refuses a module that is not the tonewall_native ABI it expects', () => {
    const r = loadNativeAddon({ nativeDir: '/x', env: { TONEWALL_NATIVE_ADDON: __filename }, load: () => ({ notify: () => 0, abiVersion: 99 }) });
    assert.equal(r.addon, undefined);
    assert.equal(r.tried[0]?.error, 'not tonewall_native ABI 1');
  });
});
