/**
 * Environment helpers for the simulator's integration tests: a per-test temp directory, and the
 * peer-binary rule (missing binary: FAIL under CI, skip with a message otherwise).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeTempDir(prefix: string): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), `tonewall-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export function hasBinary(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Call in before(): fails under CI when `name` is missing, skips the suite otherwise. */
export function requireBinary(ctx: Mocha.Context, name: string): void {
  if (hasBinary(name)) return;
  if (process.env.CI) throw new Error(`${name} is not installed; CI must install it`);
  // eslint-disable-next-line no-console -- mocha shows skips without a reason; say why once
  console.warn(`skipping: ${name} is not installed`);
  ctx.skip();
}
