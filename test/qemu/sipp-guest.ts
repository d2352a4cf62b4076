/**
 * sipp as the contact center for the QEMU guest: a UAS on 127.0.0.1:`sipPort` with RTP echo on an
 * even media port, one call, and no global timeout (the guest boots for minutes before it calls).
 * The scenario advertises 10.0.2.2, the host as the guest sees it (uas-slirp.xml).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeUdpPort } from '../lib/sip-peers';

export interface GuestSipp {
  child: ChildProcess;
  sipPort: number;
  mediaPort: number;
  output(): string;
}

export async function startSippForGuest(scenario: string, sipPort: number, dir: string): Promise<GuestSipp> {
  let mediaPort = await freeUdpPort(true);
  while (mediaPort === sipPort || mediaPort + 2 > 65535) mediaPort = await freeUdpPort(true);
  const args = ['-sf', scenario, '-i', '127.0.0.1', '-p', String(sipPort), '-mi', '127.0.0.1', '-mp', String(mediaPort), '-m', '10', '-nostdin', '-rtp_echo', '-trace_err', '-trace_msg'];
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  await new Promise((r) => setTimeout(r, 500));
  if (child.exitCode !== null) throw new Error(`sipp exited at once (${child.exitCode}): ${out}`);
  return {
    child,
    sipPort,
    mediaPort,
    output: () => {
      const logs = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8').slice(-4000)}`) : [];
      return `${out.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g'), '').slice(-2000)}\n${logs.join('\n')}`;
    },
  };
}
