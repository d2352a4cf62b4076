/**
 * libpri as a peer (test/interop/harness/libpri-peer.c, built here with gcc and cached under
 * os.tmpdir() by a hash of its source). Frames cross stdio as hex lines; libpri's events come back as
 * `E …` lines that tests wait for. Every frame is recorded with its direction for pcaps.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const SOURCE = resolve(__dirname, '../../../test/interop/harness/libpri-peer.c');

export function hasLibpri(): boolean {
  return spawnSync('sh', ['-c', 'command -v gcc'], { encoding: 'utf8' }).status === 0 && existsSync('/usr/include/libpri.h');
}

let built: string | undefined;

export function libpriHarness(): string {
  if (built) return built;
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'tonewall-harness-cache');
  const out = join(dir, `libpri-peer-${hash}`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${out}.${process.pid}`;
    const cc = spawnSync('gcc', ['-Wall', '-O2', '-o', tmp, SOURCE, '-lpri'], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc failed building ${SOURCE}: ${cc.stderr}`);
    renameSync(tmp, out);
  }
  built = out;
  return out;
}

export interface PeerFrame {
  /** 'peer' = sent by libpri; 'us' = sent by our stack. */
  from: 'peer' | 'us';
  frame: Buffer;
  atMs: number;
}

export class LibpriPeer {
  readonly events: string[] = [];
  readonly debug: string[] = [];
  readonly frames: PeerFrame[] = [];
  onFrame: (frame: Buffer) => void = () => undefined;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: { re: RegExp; from: number; resolve: (m: RegExpMatchArray) => void }[] = [];
  private exited = false;
  /** Return true to lose a frame between libpri and us (either way). */
  drop: (f: PeerFrame) => boolean = () => false;

  constructor(role: 'network' | 'cpe', switchType: 'euroisdn_e1' | 'ni2') {
    this.child = spawn(libpriHarness(), [role, switchType], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.on('exit', () => {
      this.exited = true;
    });
    const rl = createInterface({ input: this.child.stdout });
    rl.on('line', (line) => this.onLine(line));
  }

  private onLine(line: string): void {
    if (line.startsWith('F ')) {
      const rec: PeerFrame = { from: 'peer', frame: Buffer.from(line.slice(2), 'hex'), atMs: Date.now() };
      this.frames.push(rec);
      if (!this.drop(rec)) this.onFrame(rec.frame);
    } else if (line.startsWith('E ')) {
      this.events.push(line.slice(2));
      this.check();
    } else {
      this.debug.push(line);
    }
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      for (let i = w.from; i < this.events.length; i++) {
        const m = this.events[i]?.match(w.re);
        if (m) {
          w.resolve(m);
          return false;
        }
      }
      return true;
    });
  }

  /** Our frame toward libpri. */
  send(frame: Buffer): void {
    const rec: PeerFrame = { from: 'us', frame: Buffer.from(frame), atMs: Date.now() };
    this.frames.push(rec);
    if (this.drop(rec) || this.exited) return;
    this.child.stdin.write(`F ${frame.toString('hex')}\n`);
  }

  command(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Resolves with the first event at or after index `from` matching `re`; rejects after a guard time. */
  waitFor(re: RegExp, from = 0, guardMs = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`libpri event ${String(re)} not seen; events: ${this.events.join(' | ')}`)), guardMs);
      this.waiters.push({
        re,
        from,
        resolve: (m) => {
          clearTimeout(timer);
          resolvePromise(m);
        },
      });
      this.check();
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.end('quit\n');
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await done;
    clearTimeout(kill);
  }
}
