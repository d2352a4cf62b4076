/**
 * systemd service notification (sd_notify(3)): READY=1, STATUS=, WATCHDOG=1, STOPPING=1 as one
 * datagram each to $NOTIFY_SOCKET (DESIGN.md §7; the unit is Type=notify).
 *
 * Transports, chosen once at construction:
 *   native          the addon's notify() (firmware/native; see its loader for the search order);
 *   systemd-notify  the pure-JS fallback when the addon is absent: spawns `systemd-notify --pid=<our
 *                   pid> VAR=VALUE...` (needs NotifyAccess=all, which tonewall.service sets);
 *   disabled        no $NOTIFY_SOCKET: not started by systemd, every call is a no-op.
 * `health()` reports the transport, whether the addon loaded (and why not), and counters, so a
 * fleet operator sees a box running on the fallback.
 *
 * Notification text never carries card data: STATUS is for states such as "ready: card link up".
 */
import { spawn } from 'node:child_process';
import { errorMessage, TonewallError } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { NativeAddon, NativeLoadResult } from '../../firmware/native/loader';

export type NotifyTransport = 'native' | 'systemd-notify' | 'disabled';

export interface NotifyHealth {
  transport: NotifyTransport;
  /** True when the native addon loaded (whatever the transport). */
  addonLoaded: boolean;
  addonPath: string | undefined;
  /** Why the addon did not load (the last candidate's error), when it did not. */
  addonError: string | undefined;
  sent: number;
  failed: number;
  lastError: string | undefined;
}

/** Runs `systemd-notify` with these arguments; rejects when it fails. */
export type SpawnNotify = (args: string[]) => Promise<void>;

export interface NotifierOptions {
  log: Logger;
  /** The loader's result (loadNativeAddon()); undefined or without addon -> fallback. */
  native?: NativeLoadResult;
  env?: Record<string, string | undefined>;
  pid?: number;
  spawnNotify?: SpawnNotify;
}

const MAX_STATUS_CHARS = 200;

export const spawnSystemdNotify: SpawnNotify = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn('systemd-notify', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new TonewallError('NOTIFY_SPAWN', `systemd-notify exited ${code}: ${err.trim()}`))));
  });

/** STATUS= must be one line; control characters become spaces and the text is bounded. */
export function sanitizeStatus(text: string): string {
  let out = '';
  for (const ch of text.slice(0, MAX_STATUS_CHARS)) out += ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? ' ' : ch;
  return out;
}

export class SystemdNotifier {
  readonly transport: NotifyTransport;
  private readonly log: Logger;
  private readonly socket: string | undefined;
  private readonly addon: NativeAddon | undefined;
  private readonly native: NativeLoadResult | undefined;
  private readonly pid: number;
  private readonly spawnNotify: SpawnNotify;
  private sent = 0;
  private failed = 0;
  private lastError: string | undefined;

  constructor(options: NotifierOptions) {
    const env = options.env ?? process.env;
    this.log = options.log.child('notify');
    this.socket = env['NOTIFY_SOCKET'] || undefined;
    this.native = options.native;
    this.addon = options.native?.addon;
    this.pid = options.pid ?? process.pid;
    this.spawnNotify = options.spawnNotify ?? spawnSystemdNotify;
    this.transport = !this.socket ? 'disabled' : this.addon ? 'native' : 'systemd-notify';
    if (this.transport === 'systemd-notify') {
      this.log.warn('native addon not loaded: notifying systemd through systemd-notify (fallback)', { addonError: this.addonError() });
    }
  }

  /** READY=1 (with an optional STATUS). */
  ready(status?: string): void {
    this.send(['READY=1', ...(status === undefined ? [] : [`STATUS=${sanitizeStatus(status)}`])]);
  }

  status(text: string): void {
    this.send([`STATUS=${sanitizeStatus(text)}`]);
  }

  watchdog(): void {
    this.send(['WATCHDOG=1']);
  }

  stopping(status?: string): void {
    this.send(['STOPPING=1', ...(status === undefined ? [] : [`STATUS=${sanitizeStatus(status)}`])]);
  }

  health(): NotifyHealth {
    return {
      transport: this.transport,
      addonLoaded: this.addon !== undefined,
      addonPath: this.native?.path,
      addonError: this.addon ? undefined : this.addonError(),
      sent: this.sent,
      failed: this.failed,
      lastError: this.lastError,
    };
  }

  private addonError(): string {
    const last = this.native?.tried[this.native.tried.length - 1];
    return last ? `${last.path}: ${last.error ?? 'unknown'}` : 'loader not run';
  }

  private send(assignments: string[]): void {
    if (this.transport === 'disabled' || !this.socket) return;
    if (this.transport === 'native' && this.addon) {
      try {
        this.addon.notify(this.socket, assignments.join('\n'));
        this.sent++;
      } catch (err) {
        this.fail(err);
      }
      return;
    }
    this.spawnNotify([`--pid=${this.pid}`, ...assignments]).then(
      () => void this.sent++,
      (err: unknown) => this.fail(err),
    );
  }

  private fail(err: unknown): void {
    this.failed++;
    this.lastError = errorMessage(err);
    this.log.error('systemd notification failed', { err: this.lastError, failed: this.failed });
  }
}
