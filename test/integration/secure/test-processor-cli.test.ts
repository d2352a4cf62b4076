import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createPublicKey } from 'node:crypto';
import { makeTestPki, removePki, requireOpenssl, type TestPki } from '../../lib/secure-certs';

const CLI_MODULE = resolve(__dirname, '../../../controller/app/commands/test-processor.js');
const SCRIPT = `require(${JSON.stringify(CLI_MODULE)}).run(process.argv.slice(1)).then((c) => process.exit(c))`;

function runSync(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['-e', SCRIPT, '--', ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('secure: tonewall test-processor command line', function () {
  let pki: TestPki | undefined;
  before(function () {
    requireOpenssl(this);
    pki = makeTestPki();
  });
  after(() => removePki(pki));

  it('bad usage exits 2 with the usage line', () => {
    for (const args of [[], ['--cert'], ['--cert', 'a', '--key', 'b'], ['--bogus', '1'], ['--cert', 'a', '--key', 'b', '--client-ca', 'c', '--alg', 'RSA1_5']]) {
      const r = runSync(args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, /usage: tonewall test-processor/);
    }
  });

  it('an unreadable certificate exits 1 naming the file', () => {
    const r = runSync(['--cert', '/nonexistent/server.crt', '--key', 'k', '--client-ca', 'c']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nonexistent\/server\.crt/);
  });

  it('writes its public key with --public-key-out, prints the listening line and stops on SIGINT with 0', async () => {
    if (!pki) throw new Error('no PKI');
    const out = join(pki.dir, 'processor-pub.pem');
    const child = spawn(
      process.execPath,
      ['-e', SCRIPT, '--', '--cert', join(pki.dir, 'server.crt'), '--key', join(pki.dir, 'server.key'), '--client-ca', join(pki.dir, 'ca.crt'), '--alg', 'ECDH-ES', '--public-key-out', out, '--log-level', 'warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const line = await new Promise<string>((ok, fail) => {
      let buf = '';
      child.once('exit', (c) => fail(new Error(`exited ${c}`)));
      child.stdout.on('data', (c: Buffer) => {
        buf += c.toString();
        if (buf.includes('\n')) ok(buf.slice(0, buf.indexOf('\n')));
      });
    });
    const info = JSON.parse(line) as { url: string; port: number; alg: string; publicKeyPem: string };
    assert.match(info.url, /^https:\/\/127\.0\.0\.1:\d+\/payments$/);
    assert.equal(info.alg, 'ECDH-ES');
    assert.ok(existsSync(out));
    assert.equal(readFileSync(out, 'utf8'), info.publicKeyPem);
    assert.equal(createPublicKey(info.publicKeyPem).asymmetricKeyType, 'ec');
    const code = await new Promise<number | null>((ok) => {
      child.removeAllListeners('exit');
      child.once('exit', (c) => ok(c));
      child.kill('SIGINT');
    });
    assert.equal(code, 0);
  });
});
