/**
 * sipp runs for the trunk interop tests (test-peers.md §1) on UDP or TCP (`-t u1` / `-t t1`; this
 * Debian sipp has no TLS, so TLS tests put socat's OpenSSL listener in front of a TCP sipp).
 * Every run has its own temp dir and ports, a hard timeout, and is stopped by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freeUdpPort, makeTempDir } from './sip-peers';

export interface SippProcess {
  child: ChildProcess;
  dir: string;
  port: number;
  exit: Promise<number>;
  output(): string;
}

export async function freeTcpPort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function tcpListening(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts sipp with `args` (scenario, -m, …) on its own port; resolves once the port is bound (a UAC: at once). */
export async function startSipp(opts: { args: string[]; transport: 'udp' | 'tcp'; port?: number; uac?: boolean }): Promise<SippProcess> {
  const dir = makeTempDir('sipp');
  const port = opts.port ?? (opts.transport === 'tcp' ? await freeTcpPort() : await freeUdpPort());
  const mediaPort = await freeUdpPort(true);
  const args = [...opts.args, '-t', opts.transport === 'tcp' ? 't1' : 'u1', '-i', '127.0.0.1', '-p', String(port), '-mi', '127.0.0.1', '-mp', String(mediaPort), '-nostdin', '-timeout', '30s', '-timeout_error', '-trace_err', '-trace_msg'];
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  if (opts.uac === true) {
    // a UAC starts sending at once: nothing to wait for
  } else if (opts.transport === 'tcp') {
    for (let i = 0; !(await tcpListening(port)); i++) {
      if (i > 100 || child.exitCode !== null) throw new Error(`sipp did not listen on TCP ${port}: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } else {
    await new Promise((r) => setTimeout(r, 500)); // test-peers.md §7: the SIP port is bound at once; 0.5 s is enough
  }
  return {
    child,
    dir,
    port,
    exit,
    output: () => {
      const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => `--- ${f}\n${fs.readFileSync(path.join(dir, f), 'utf8').slice(-4000)}`);
      return `${out.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g'), '').slice(-2000)}\n${logs.join('\n')}`;
    },
  };
}

/** socat terminating TLS on `port` and forwarding each connection to a TCP port (a TLS front for sipp). */
export async function startTlsFront(opts: { certFile: string; keyFile: string; toPort: number; port?: number }): Promise<{ port: number; child: ChildProcess }> {
  const port = opts.port ?? (await freeTcpPort());
  const child = spawn('socat', [`OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,cert=${opts.certFile},key=${opts.keyFile},verify=0`, `TCP:127.0.0.1:${opts.toPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  for (let i = 0; !(await tcpListening(port)); i++) {
    if (i > 100 || child.exitCode !== null) throw new Error(`socat did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, child };
}
