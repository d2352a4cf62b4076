/**
 * The processes of a leak run (issue #6), each in the run's directory, each stopped by its pid:
 *
 * - the simulated E1 PRI card as its own process (`tonewall sim --model e1-pri --script FILE`): the
 *   callers (and so the canary digits) live there, never in the appliance's heap;
 * - a sipp UAS (`CONTACT_CENTER_SCENARIO`: answers, 200 to INFO; `-rtp_echo`, `-trace_msg`) as the
 *   contact center;
 * - the appliance (`tonewall run --config FILE`) with `--heapsnapshot-signal=SIGUSR2`, its stdout and
 *   stderr written to files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as dgram from 'node:dgram';
import { freeUdpPort } from './sip-peers';

export const CLI = resolve(__dirname, '../../controller/app/cli.js');

export interface Child {
  child: ChildProcess;
  exit: Promise<number | null>;
  /** SIGTERM (then SIGKILL after `graceMs`) and wait for the exit; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

function track(child: ChildProcess): Child {
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return {
    child,
    exit,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exit;
      clearTimeout(t);
      return code;
    },
  };
}

/** Spawns with stdout/stderr into files `<name>.stdout` / `<name>.stderr` in `dir`. */
function spawnLogged(dir: string, name: string, cmd: string, args: string[]): Child {
  const out = openSync(join(dir, `${name}.stdout`), 'w');
  const err = openSync(join(dir, `${name}.stderr`), 'w');
  const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', out, err] });
  closeSync(out);
  closeSync(err);
  return track(child);
}

async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs: number, died?: () => string | undefined): Promise<void> {
  const by = Date.now() + timeoutMs;
  while (!(await pred())) {
    const dead = died?.();
    if (dead) throw new Error(`${what}: ${dead}`);
    if (Date.now() > by) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const text = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');

/** The simulated E1 PRI card playing `scriptFile`; ready once it listens on `socket`. */
export async function startSimProcess(dir: string, socketPath: string, scriptFile: string): Promise<Child> {
  const c = spawnLogged(dir, 'sim', process.execPath, [CLI, 'sim', '--model', 'e1-pri', '--listen', `unix:${socketPath}`, '--script', scriptFile, '--log-level', 'info']);
  await until('the simulated card', () => text(join(dir, 'sim.stdout')).includes('listening on'), 15_000, () => (c.child.exitCode !== null ? `exited ${c.child.exitCode}: ${text(join(dir, 'sim.stderr')).slice(-2000)}` : undefined));
  return c;
}

export interface SippUas extends Child {
  sipPort: number;
  mediaPort: number;
  /** sipp's `-trace_msg` file (every SIP message it sent and received). */
  messagesFile(): string | undefined;
}

/**
 * The contact center's scenario: answer (PCMU), then answer every in-dialog INFO (the appliance's
 * payment progress, docs/payments.md §3) with 200 until the BYE. sipp's built-in `uas` aborts a
 * call on the first INFO.
 */
const RESPONSE_HEAD = ['[last_Via:]', '[last_From:]', '[last_To:]', '[last_Call-ID:]', '[last_CSeq:]', 'Contact: <sip:[local_ip]:[local_port];transport=[transport]>'];
const send = (lines: string[], attrs = ''): string => `  <send${attrs}>\n    <![CDATA[\n${lines.map((l) => `      ${l}`).join('\n')}\n    ]]>\n  </send>`;
export const CONTACT_CENTER_SCENARIO = [
  '<?xml version="1.0" encoding="ISO-8859-1" ?>',
  '<scenario name="tonewall leak test contact center">',
  '  <recv request="INVITE" crlf="true"/>',
  send(['SIP/2.0 180 Ringing', ...RESPONSE_HEAD.map((h) => (h === '[last_To:]' ? '[last_To:];tag=[pid]cc[call_number]' : h)), 'Content-Length: 0']),
  send(
    [
      'SIP/2.0 200 OK',
      ...RESPONSE_HEAD.map((h) => (h === '[last_To:]' ? '[last_To:];tag=[pid]cc[call_number]' : h)),
      'Content-Type: application/sdp',
      'Content-Length: [len]',
      '',
      'v=0',
      'o=cc 1 1 IN IP[local_ip_type] [local_ip]',
      's=-',
      'c=IN IP[media_ip_type] [media_ip]',
      't=0 0',
      'm=audio [media_port] RTP/AVP 0',
      'a=rtpmap:0 PCMU/8000',
    ],
    ' retrans="500"',
  ),
  '  <recv request="ACK" optional="true" crlf="true"/>',
  '  <label id="1"/>',
  '  <recv request="INFO" optional="true" next="2"/>',
  '  <recv request="BYE" next="3"/>',
  '  <label id="2"/>',
  send(['SIP/2.0 200 OK', ...RESPONSE_HEAD, 'Content-Length: 0']),
  '  <nop next="1"/>',
  '  <label id="3"/>',
  send(['SIP/2.0 200 OK', ...RESPONSE_HEAD, 'Content-Length: 0']),
  '  <timewait milliseconds="4000"/>',
  '</scenario>',
  '',
].join('\n');

/** sipp as the contact center on its own ports: answers every INVITE (PCMU), 200 to INFO, echoes RTP, logs every message. */
export async function startSippUas(dir: string): Promise<SippUas> {
  const sipPort = await freeUdpPort();
  let mediaPort = await freeUdpPort(true);
  while (mediaPort === sipPort || mediaPort + 2 === sipPort) mediaPort = await freeUdpPort(true);
  const scenario = join(dir, 'contact-center.xml');
  writeFileSync(scenario, CONTACT_CENTER_SCENARIO);
  const c = spawnLogged(dir, 'sipp', 'sipp', ['-sf', scenario, '-i', '127.0.0.1', '-p', String(sipPort), '-mi', '127.0.0.1', '-mp', String(mediaPort), '-rtp_echo', '-nostdin', '-trace_msg', '-trace_err']);
  await until('sipp to bind its SIP port', () => udpBusy(sipPort), 10_000, () => (c.child.exitCode !== null ? `sipp exited ${c.child.exitCode}: ${text(join(dir, 'sipp.stdout')).slice(-2000)}` : undefined));
  return {
    ...c,
    sipPort,
    mediaPort,
    messagesFile: () => {
      const f = readdirSync(dir).find((n) => /^contact-center_\d+_messages\.log$/.test(n));
      return f ? join(dir, f) : undefined;
    },
  };
}

/** True when something is bound on the UDP port (our bind fails). */
function udpBusy(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      res(true);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => res(false)));
  });
}

/** The last `n` bytes of a file. */
function tail(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(n, size));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf;
  } finally {
    closeSync(fd);
  }
}

export interface ApplianceChild extends Child {
  dir: string;
  /** SIGUSR2 → V8 writes a heap snapshot into `dir`; resolves with its path once complete. */
  heapSnapshot(timeoutMs?: number): Promise<string>;
  stdout(): string;
  stderr(): string;
}

/** `tonewall run --config configFile` as a child process, heap snapshots on SIGUSR2 into `dir`. */
export function startApplianceProcess(dir: string, configFile: string): ApplianceChild {
  const c = spawnLogged(dir, 'appliance', process.execPath, ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`, CLI, 'run', '--config', configFile]);
  return {
    ...c,
    dir,
    stdout: () => text(join(dir, 'appliance.stdout')),
    stderr: () => text(join(dir, 'appliance.stderr')),
    async heapSnapshot(timeoutMs = 120_000) {
      const before = new Set(readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')));
      c.child.kill('SIGUSR2');
      let path = '';
      let lastSize = -1;
      await until(
        'the heap snapshot',
        () => {
          const f = readdirSync(dir).find((n) => n.endsWith('.heapsnapshot') && !before.has(n));
          if (!f) return false;
          path = join(dir, f);
          const size = statSync(path).size;
          const stable = size > 0 && size === lastSize;
          lastSize = size;
          return stable && tail(path, 2).toString('latin1') === ']}';
        },
        timeoutMs,
        () => (c.child.exitCode !== null ? `the appliance exited ${c.child.exitCode}` : undefined),
      );
      return path;
    },
  };
}
