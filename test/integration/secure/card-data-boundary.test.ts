/**
 * Static boundary checks over the source tree (DESIGN.md §3: "secure/ sees digits, nothing else
 * does"; STYLE.md: no function outside secure/ accepts the captured-digit type; §7: card data only
 * in Buffer.alloc memory, never the shared pool, never JSON.stringify).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../../..');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Source without comments, so a doc comment naming the type does not count. */
function code(path: string): string {
  return readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
}

describe('secure: card-data boundary in the source tree', () => {
  const secureDir = join(ROOT, 'controller', 'secure');

  it('nothing outside controller/secure (and tests) names CapturedDigits, the plaintext format or PaymentSecrets', () => {
    const offenders: string[] = [];
    let scanned = 0;
    for (const top of ['controller', 'hw']) {
      for (const f of tsFiles(join(ROOT, top))) {
        if (f.startsWith(secureDir)) continue;
        scanned++;
        if (/CapturedDigits|captured-digits|payment-plaintext|PaymentSecrets/.test(code(f))) offenders.push(relative(ROOT, f));
      }
    }
    assert.ok(scanned > 30, `scanned ${scanned} files`);
    assert.deepEqual(offenders, []);
  });

  it('controller/secure never uses the shared Buffer pool, and card-touching files build no Buffer.from/concat or JSON of card data', () => {
    const cardFiles = ['captured-digits.ts', 'payment-plaintext.ts', 'jwe-seal.ts', 'field-capture.ts', 'field-rules.ts', 'card-brands.ts', 'payment-session.ts'];
    for (const f of tsFiles(secureDir)) {
      const src = code(f);
      assert.equal(/allocUnsafe/.test(src), false, `${relative(ROOT, f)} uses allocUnsafe`);
      const name = relative(secureDir, f);
      if (cardFiles.includes(name)) {
        assert.equal(/Buffer\.(from|concat)\(/.test(src), false, `${name} uses Buffer.from/concat`);
        assert.equal(/JSON\.stringify\(/.test(src), false, `${name} uses JSON.stringify`);
      }
    }
  });
});
