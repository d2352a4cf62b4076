/**
 * The arm64 appliance under qemu-system-aarch64 (virt, TCG) for the QEMU test, per
 * shared/qemu-recipe.md: direct kernel boot of the cached base image through a qcow2 overlay, the
 * application on a second disk, the card's serial port (PCI 16550 -> /dev/ttyS0) connected as a
 * client to the host simulator's unix socket, user networking with no forwarding (the guest reaches
 * only the host's loopback services through 10.0.2.2), the console on a unix socket with a log file.
 *
 * `run(cmd)` types a command at the root shell the test image's autologin gives on the console and
 * returns its output and exit status, framed by a marker the echo of the command cannot match.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

export interface GuestOptions {
  /** Directory with rootfs.img, vmlinuz, initrd.img (scripts/build-image.sh base). */
  baseDir: string;
  appImg: string;
  workDir: string;
  /** The host simulator's unix socket (QEMU connects to it, reconnecting every second). */
  cardSocket: string;
  appendExtra?: string;
}

export class QemuGuest {
  readonly consoleLog: string;
  private child: ChildProcess | undefined;
  private console: Socket | undefined;
  private buffer = '';
  private seq = 0;
  private exited = false;

  constructor(private readonly opts: GuestOptions) {
    this.consoleLog = join(opts.workDir, 'console.log');
  }

  get running(): boolean {
    return this.child !== undefined && !this.exited;
  }

  async start(): Promise<void> {
    const { workDir, baseDir } = this.opts;
    const overlay = join(workDir, 'overlay.qcow2');
    const r = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(baseDir, 'rootfs.img'), '-F', 'raw', overlay], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`qemu-img create failed: ${r.stderr}`);
    const consoleSock = join(workDir, 'console.sock');
    const args = [
      '-M', 'virt', '-cpu', 'cortex-a72', '-smp', '2', '-m', '1024', '-display', 'none', '-no-reboot',
      '-kernel', join(baseDir, 'vmlinuz'), '-initrd', join(baseDir, 'initrd.img'),
      '-append', `root=/dev/vda rw console=ttyAMA0 panic=-1 quiet ${this.opts.appendExtra ?? ''}`.trim(),
      '-drive', `if=none,id=hd0,file=${overlay},format=qcow2,cache=unsafe`, '-device', 'virtio-blk-pci,drive=hd0',
      '-drive', `if=none,id=hd1,file=${this.opts.appImg},format=raw,readonly=on`, '-device', 'virtio-blk-pci,drive=hd1',
      '-netdev', 'user,id=n0,net=10.0.2.0/24,ipv6=off', '-device', 'virtio-net-pci,netdev=n0',
      '-chardev', `socket,id=card,path=${this.opts.cardSocket},reconnect=1`, '-device', 'pci-serial,chardev=card',
      '-chardev', `socket,id=con,path=${consoleSock},server=on,wait=off,logfile=${this.consoleLog}`, '-serial', 'chardev:con',
      '-qmp', `unix:${join(workDir, 'qmp.sock')},server=on,wait=off`,
    ];
    const child = spawn('qemu-system-aarch64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', () => (this.exited = true));
    for (let i = 0; i < 100 && !this.console; i++) {
      if (this.exited) throw new Error(`qemu exited at once: ${err}`);
      this.console = await new Promise<Socket | undefined>((resolve) => {
        const s = connect(consoleSock);
        s.once('connect', () => resolve(s));
        s.once('error', () => setTimeout(() => resolve(undefined), 100));
      });
    }
    if (!this.console) throw new Error(`cannot connect to the QEMU console socket: ${err}`);
    this.console.on('data', (d: Buffer) => (this.buffer += d.toString('latin1')));
  }

  /** Everything the console printed so far (from the log file, which also covers before we connected). */
  consoleText(): string {
    try {
      return readFileSync(this.consoleLog, 'latin1');
    } catch {
      return this.buffer;
    }
  }

  /**
   * Waits until the root shell answers (autologin on ttyAMA0), up to `timeoutMs`. Nothing is typed
   * before the prompt has appeared: bytes sent while the PL011 receiver is not yet enabled fill its
   * FIFO, and once the driver clears the pending interrupt on open, QEMU never delivers more input.
   */
  async waitForShell(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!/root@[^:\s]+:[^#\n]*# /.test(this.consoleText())) {
      if (this.exited) throw new Error(`QEMU exited before the shell came up; console:\n${this.consoleText().slice(-3000)}`);
      if (Date.now() > end) throw new Error(`no shell prompt on the guest console within ${timeoutMs} ms; console:\n${this.consoleText().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    while (Date.now() < end) {
      try {
        await this.run('stty -echo cols 250', 10_000);
        return;
      } catch {
        // the shell was not reading yet
      }
    }
    throw new Error(`the guest shell did not answer within ${timeoutMs} ms; console:\n${this.consoleText().slice(-3000)}`);
  }

  /** Runs `cmd` in the guest's root shell; resolves with its exit code and output. */
  async run(cmd: string, timeoutMs = 60_000): Promise<{ code: number; out: string }> {
    if (!this.console) throw new Error('guest console not connected');
    const id = `${process.pid}x${++this.seq}`;
    const begin = `__TWB_${id}`;
    const end = new RegExp(`__TWE_${id}_(\\d+)`);
    const from = this.buffer.length;
    // The echo shows the quotes; the output does not: the markers match only what the shell printed.
    this.console.write(`echo "__TWB""_${id}"; ${cmd}; echo "__TWE""_${id}_$?"\r`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.buffer.slice(from);
      const m = end.exec(text);
      if (m?.[1] !== undefined) {
        const b = text.lastIndexOf(begin, m.index);
        const out = text.slice(b >= 0 ? b + begin.length : 0, m.index).replace(/\r/g, '').trim();
        return { code: Number(m[1]), out };
      }
      if (this.exited) throw new Error(`QEMU exited while running "${cmd}"`);
      if (Date.now() > deadline) throw new Error(`guest command "${cmd}" gave no result within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends one QMP command (after qmp_capabilities) on the QMP socket; resolves with its reply. */
  qmp(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect(join(this.opts.workDir, 'qmp.sock'));
      let text = '';
      let sent = false;
      const timer = setTimeout(() => (s.destroy(), reject(new Error(`QMP ${command}: no reply within 10 s (${text})`))), 10_000);
      s.on('data', (d: Buffer) => {
        text += d.toString('utf8');
        if (!sent && text.includes('"QMP"')) {
          sent = true;
          s.write(`{"execute":"qmp_capabilities"}\n{"execute":"${command}"}\n`);
        }
        if ((text.match(/"return"/g) ?? []).length >= 2) {
          clearTimeout(timer);
          s.end();
          resolve(text);
        }
      });
      s.once('error', (e) => (clearTimeout(timer), reject(e)));
    });
  }

  /** Asks the guest to power off; kills QEMU if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    this.console?.write('systemctl poweroff\r');
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await done;
    clearTimeout(t);
    this.console?.destroy();
  }
}
