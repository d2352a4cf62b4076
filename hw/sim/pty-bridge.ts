/**
 * A pty for the simulated card, so the driver opens a REAL tty with the real serialport binding:
 * `socat -d -d pty,raw,echo=0,link=<ptyPath> UNIX-CONNECT:<sim socket>` (or TCP:…). The driver
 * opens `ptyPath` (a symlink to /dev/pts/N); socat carries the bytes to the simulator's socket.
 *
 * socat survives the driver closing and reopening the tty. It exits when the simulator closes its
 * side (dropLink, card stop); while the bridge runs it is then started again (same link path, maybe
 * a new /dev/pts/N), so the driver's reconnect finds the pty again. stop() ends socat by its pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { TonewallError } from '../base/errors';
import type { Logger } from '../base/logger';
import type { SimAddress } from './sim-address';

export interface PtyBridgeOptions {
  /** Where the pty's symlink is made (the path the driver opens). */
  ptyPath: string;
  /** The simulator's listening address. */
  connectTo: SimAddress;
  log: Logger;
  socatPath?: string;
  /** Wait before starting socat again after it exited, ms. */
  restartDelayMs?: number;
}

export class PtyBridge {
  private child: ChildProcess | undefined;
  private running = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  /** The /dev/pts/N behind the link, once socat reported it. */
  devicePath: string | undefined;
  /** How many times socat was started. */
  starts = 0;

  constructor(private readonly opts: PtyBridgeOptions) {
    this.log = opts.log.child('sim-pty');
  }

  get ptyPath(): string {
    return this.opts.ptyPath;
  }

  /** Resolves once socat has made the pty and connected to the simulator. */
  async start(): Promise<void> {
    this.running = true;
    await this.spawnOnce();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  private spawnOnce(): Promise<void> {
    const target = this.opts.connectTo.kind === 'unix' ? `UNIX-CONNECT:${this.opts.connectTo.path}` : `TCP:${this.opts.connectTo.host}:${this.opts.connectTo.port}`;
    const args = ['-d', '-d', `pty,raw,echo=0,link=${this.opts.ptyPath}`, target];
    // Its own process group: a Ctrl-C at the terminal reaches the daemon, which then stops socat in
    // order, instead of killing the pty under a card link that is still shutting down. When this
    // process dies, the socket side closes and socat exits by itself.
    const child = spawn(this.opts.socatPath ?? 'socat', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.child = child;
    this.starts++;
    let stderr = '';
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (text: string) => {
        stderr = (stderr + text).slice(-4000);
        const pty = /PTY is (\S+)/.exec(stderr);
        if (pty?.[1]) this.devicePath = pty[1];
        if (!settled && stderr.includes('starting data transfer loop')) {
          settled = true;
          this.log.info('pty ready', { ptyPath: this.opts.ptyPath, device: this.devicePath });
          resolve();
        }
      });
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        reject(
          err.code === 'ENOENT'
            ? new TonewallError('SIM_SOCAT_MISSING', `socat not found (${this.opts.socatPath ?? 'socat'}); the pty transport needs it (apt-get install socat)`)
            : new TonewallError('SIM_PTY', `cannot start socat: ${err.message}`),
        );
      });
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        if (!settled) {
          settled = true;
          reject(new TonewallError('SIM_PTY', `socat exited (code ${code}, signal ${signal}) before the pty was ready: ${stderr.trim().split('\n').slice(-2).join(' | ')}`));
          return;
        }
        if (this.running) {
          this.log.info('socat exited, starting it again', { code, signal });
          this.restartTimer = setTimeout(() => {
            if (this.running) this.spawnOnce().catch((err: unknown) => this.log.error('pty restart failed', { err }));
          }, this.opts.restartDelayMs ?? 100);
        }
      });
    });
  }
}

/** Whether socat can be run (for the `auto` simulator transport: pty when it can, socket otherwise). */
export function socatAvailable(socatPath = 'socat'): boolean {
  const r = spawnSync(socatPath, ['-V'], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}
