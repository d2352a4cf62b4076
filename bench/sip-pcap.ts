/**
 * Loopback capture for `npm run bench:sip`: dumpcap writes classic pcap (`-P`), and this reads it
 * into UDP datagrams with their capture times. Classic pcap (libpcap file format): a 24-byte global
 * header (magic 0xa1b2c3d4 µs or 0xa1b23c4d ns, either byte order; link type at offset 20), then
 * per record ts_sec, ts_frac, caplen, len and the bytes. Link types read: 1 Ethernet (what Linux
 * `lo` gives), 113 Linux cooked v1, 276 Linux cooked v2, 0/108 BSD loopback; IPv4 and UDP only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface UdpDatagram {
  /** Capture time, µs since the epoch. */
  tsUs: number;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/** Bytes before the IPv4 header for a link type, or undefined when the type is not read here. */
function linkHeaderBytes(linkType: number, frame: Buffer): number | undefined {
  if (linkType === 1) return frame.length >= 14 && frame.readUInt16BE(12) === 0x0800 ? 14 : undefined;
  if (linkType === 113) return frame.length >= 16 && frame.readUInt16BE(14) === 0x0800 ? 16 : undefined;
  if (linkType === 276) return frame.length >= 20 && frame.readUInt16BE(0) === 0x0800 ? 20 : undefined;
  if (linkType === 0 || linkType === 108) return 4;
  return undefined;
}

/** The UDP datagram in one captured frame, or undefined (not IPv4/UDP, a fragment, truncated). */
export function udpOfFrame(linkType: number, frame: Buffer, tsUs: number): UdpDatagram | undefined {
  const ip = linkHeaderBytes(linkType, frame);
  if (ip === undefined || frame.length < ip + 20) return undefined;
  const vihl = frame.readUInt8(ip);
  if (vihl >> 4 !== 4) return undefined;
  const ihl = (vihl & 0x0f) * 4;
  if (frame.readUInt8(ip + 9) !== 17) return undefined;
  if ((frame.readUInt16BE(ip + 6) & 0x3fff) !== 0) return undefined; // RFC 791: a fragment (MF set or offset ≠ 0)
  const udp = ip + ihl;
  if (frame.length < udp + 8) return undefined;
  const udpLen = frame.readUInt16BE(udp + 4);
  const end = Math.min(frame.length, udp + udpLen);
  return { tsUs, srcPort: frame.readUInt16BE(udp), dstPort: frame.readUInt16BE(udp + 2), payload: frame.subarray(udp + 8, end) };
}

/** Every UDP datagram of a classic pcap file's bytes, in file order. */
export function parsePcap(file: Buffer): UdpDatagram[] {
  if (file.length < 24) throw new Error(`pcap: ${file.length} bytes, expected at least the 24-byte global header`);
  const magicLe = file.readUInt32LE(0);
  const le = magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d;
  const magic = le ? magicLe : file.readUInt32BE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`pcap: magic 0x${magicLe.toString(16)}, expected 0xa1b2c3d4 or 0xa1b23c4d (classic pcap; pcapng is not read here)`);
  const fracPerUs = magic === 0xa1b23c4d ? 1000 : 1;
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  const out: UdpDatagram[] = [];
  for (let o = 24; o + 16 <= file.length; ) {
    const capLen = u32(o + 8);
    const tsUs = u32(o) * 1e6 + Math.floor(u32(o + 4) / fracPerUs);
    const start = o + 16;
    if (start + capLen > file.length) break; // the last record was cut when the capture stopped
    const d = udpOfFrame(linkType, file.subarray(start, start + capLen), tsUs);
    if (d) out.push(d);
    o = start + capLen;
  }
  return out;
}

/** Whether the last 64 KiB of a file hold `marker`. */
function tailHas(file: string, marker: Buffer): boolean {
  const size = statSync(file).size;
  const len = Math.min(size, 65536);
  const buf = Buffer.alloc(len);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, len, size - len);
  } finally {
    closeSync(fd);
  }
  return buf.includes(marker);
}

export interface Capture {
  file: string;
  /** Stops dumpcap (SIGINT, so the file is flushed) and returns the datagrams captured. */
  stop(): Promise<UdpDatagram[]>;
}

/**
 * dumpcap on lo with a BPF filter, classic pcap. Ready once a probe datagram (to a port added to
 * the filter) has made the file grow: "Capturing on" comes before packets are really captured.
 */
export async function startCapture(dir: string, filter: string): Promise<Capture> {
  const file = join(dir, `cap-${Date.now()}.pcap`);
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  const probePort = probe.address().port;
  const child: ChildProcess = spawn('dumpcap', ['-q', '-P', '-i', 'lo', '-B', '64', '-f', `(${filter}) or (udp and dst port ${probePort})`, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const sizeAt = (): number => (existsSync(file) ? statSync(file).size : 0);
  /** Sends probes until the file has grown past `size`: dumpcap has then written everything captured before the probe. */
  const probeUntilPast = async (size: number): Promise<void> => {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`dumpcap exited ${child.exitCode}: ${err}`);
      if (i >= 200) throw new Error(`dumpcap wrote nothing within 10 s: ${err}`);
      if (sizeAt() > size) return;
      probe.send(Buffer.from('capture probe'), probePort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await probeUntilPast(24);
  } catch (e) {
    probe.close();
    child.kill('SIGINT');
    throw e;
  }
  return {
    file,
    async stop() {
      // The last packets may still be in the kernel's buffer: once a marker sent now is in the file, they are too.
      const marker = Buffer.from(`capture end ${process.pid} ${Date.now()}`);
      for (let i = 0; i < 100 && child.exitCode === null && !tailHas(file, marker); i++) {
        probe.send(marker, probePort, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 50));
      }
      probe.close();
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
      return parsePcap(readFileSync(file)).filter((d) => d.dstPort !== probePort);
    },
  };
}
