/**
 * Application A/B slots for updates (docs/mqtt/ota.md), under `ota.root`:
 *
 *   slots/a/, slots/b/   controller trees installed from bundles (dist/, package.json, …)
 *   current              symlink → slots/a or slots/b; absent: the factory tree (the image's
 *                        read-only /opt/tonewall) runs
 *   pending              the pending-commit record (key=value lines, below) while a new version
 *                        is on probation; read and updated by scripts/ota-boot-check.sh too
 *
 * The switch is atomic: a new symlink is written beside `current` and renamed over it (rename(2)),
 * then the directory is fsynced. A power cut leaves either the old or the new link.
 *
 * Pending record (the boot check script parses it with sed; keep it to these lines):
 *   job=<jobId>  from_slot=<factory|a|b>  to_slot=<a|b>  from_version=…  to_version=…  attempts=<n>
 *   result=crash-loop   (added by the boot check when it switched back)
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TonewallError, errorMessage } from '../../../hw/base/errors';

export type SlotName = 'factory' | 'a' | 'b';
export type InstallSlot = 'a' | 'b';

export interface PendingCommit {
  job: string;
  fromSlot: SlotName;
  toSlot: InstallSlot;
  fromVersion: string;
  toVersion: string;
  /** Starts of the new version counted by the boot check. */
  attempts: number;
  /** Set by the boot check (`crash-loop`) when it switched back. */
  result?: string;
}

export interface SlotStore {
  /** The slot `current` points at (`factory` when there is no link). */
  activeSlot(): SlotName;
  /** The slot an install goes to: the one not active (`a` when the factory tree runs). */
  inactiveSlot(): InstallSlot;
  slotDir(slot: InstallSlot): string;
  /** Empties `slot` for an install and returns its directory; refuses the active slot. */
  prepare(slot: InstallSlot): string;
  /** Points `current` at `slot` (factory: removes the link), atomically. */
  switchTo(slot: SlotName): void;
  pending(): PendingCommit | undefined;
  setPending(p: PendingCommit): void;
  clearPending(): void;
  /** Where downloads go. */
  downloadDir(): string;
}

const SLOT_LINK = /^slots\/(a|b)\/?$/;

export class DirSlotStore implements SlotStore {
  constructor(readonly root: string) {
    try {
      mkdirSync(join(root, 'slots'), { recursive: true });
      mkdirSync(join(root, 'downloads'), { recursive: true });
    } catch (err) {
      throw new TonewallError('EOTA_SLOT', `cannot create the update directory ${root}: ${errorMessage(err)}`);
    }
  }

  activeSlot(): SlotName {
    let target: string;
    try {
      target = readlinkSync(join(this.root, 'current'));
    } catch {
      return 'factory';
    }
    const m = SLOT_LINK.exec(target);
    if (!m?.[1]) throw new TonewallError('EOTA_SLOT', `${join(this.root, 'current')} points at "${target}"; expected slots/a or slots/b`);
    return m[1] as InstallSlot;
  }

  inactiveSlot(): InstallSlot {
    return this.activeSlot() === 'a' ? 'b' : 'a';
  }

  slotDir(slot: InstallSlot): string {
    return join(this.root, 'slots', slot);
  }

  prepare(slot: InstallSlot): string {
    if (slot === this.activeSlot()) throw new TonewallError('EOTA_SLOT', `slot ${slot} is the active slot; an install goes to the inactive one`);
    const dir = this.slotDir(slot);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  switchTo(slot: SlotName): void {
    const link = join(this.root, 'current');
    if (slot === 'factory') {
      if (existsSync(link) || this.isLink(link)) unlinkSync(link);
    } else {
      if (!existsSync(join(this.slotDir(slot), 'package.json'))) throw new TonewallError('EOTA_SLOT', `slot ${slot} holds no installed tree (${this.slotDir(slot)}/package.json missing)`);
      const tmp = `${link}.new`;
      rmSync(tmp, { force: true });
      symlinkSync(`slots/${slot}`, tmp);
      renameSync(tmp, link);
    }
    this.syncDir();
  }

  pending(): PendingCommit | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.root, 'pending'), 'utf8');
    } catch {
      return undefined;
    }
    const kv = new Map<string, string>();
    for (const line of text.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
    }
    const fromSlot = kv.get('from_slot');
    const toSlot = kv.get('to_slot');
    const attempts = Number(kv.get('attempts') ?? '0');
    const job = kv.get('job');
    if (!job || (fromSlot !== 'factory' && fromSlot !== 'a' && fromSlot !== 'b') || (toSlot !== 'a' && toSlot !== 'b') || !Number.isSafeInteger(attempts)) {
      throw new TonewallError('EOTA_PENDING', `${join(this.root, 'pending')} is not a pending-commit record (job, from_slot factory|a|b, to_slot a|b, attempts)`);
    }
    const result = kv.get('result');
    return { job, fromSlot, toSlot, fromVersion: kv.get('from_version') ?? '', toVersion: kv.get('to_version') ?? '', attempts, ...(result ? { result } : {}) };
  }

  setPending(p: PendingCommit): void {
    const clean = (v: string): string => v.replace(/[^\x21-\x7e]/g, '_');
    const lines = [`job=${clean(p.job)}`, `from_slot=${p.fromSlot}`, `to_slot=${p.toSlot}`, `from_version=${clean(p.fromVersion)}`, `to_version=${clean(p.toVersion)}`, `attempts=${p.attempts}`];
    if (p.result) lines.push(`result=${clean(p.result)}`);
    const file = join(this.root, 'pending');
    const tmp = `${file}.new`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeFileSync(fd, `${lines.join('\n')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    this.syncDir();
  }

  clearPending(): void {
    rmSync(join(this.root, 'pending'), { force: true });
    this.syncDir();
  }

  downloadDir(): string {
    return join(this.root, 'downloads');
  }

  private isLink(path: string): boolean {
    try {
      readlinkSync(path);
      return true;
    } catch {
      return false;
    }
  }

  private syncDir(): void {
    const fd = openSync(this.root, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
