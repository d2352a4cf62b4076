/**
 * The SIP edge on a real UDP socket (DESIGN.md §7): a sipvicious-style OPTIONS sweep from an
 * unknown address gets no answer at all, is banned, and leaves two log lines (refused, banned), not
 * hundreds; a configured peer on another address is answered throughout.
 */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { createLogger, memorySink } from '../../../hw/base/logger';
import { parseConfig } from '../../../controller/config/load';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';

function options(port: number, i: number, from: string): Buffer {
  return Buffer.from([
    `OPTIONS sip:100@127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/UDP ${from}:5060;branch=z9hG4bKscan${i};rport`, 'Max-Forwards: 70',
    `From: "sipvicious"<sip:100@${from}>;tag=${i}`, `To: <sip:100@127.0.0.1:${port}>`, `Call-ID: scan-${i}`, 'CSeq: 1 OPTIONS',
    'User-Agent: friendly-scanner', 'Content-Length: 0', '', '',
  ].join('\r\n'));
}

async function socketOn(address: string): Promise<{ s: dgram.Socket; received: Buffer[] }> {
  const s = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  s.on('message', (m) => received.push(m));
  await new Promise<void>((resolve) => s.bind(0, address, () => resolve()));
  return { s, received };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

describe('SIP edge against unknown sources on real sockets', function () {
  this.timeout(15000);

  it('500 OPTIONS from 127.0.0.1 (unknown): no answer, banned, 2 log lines; the configured peer 127.0.0.2 is answered 200', async () => {
    const sink = memorySink();
    const config = parseConfig({ sip: { bindPort: 0, contactCenterUri: 'sip:{called}@127.0.0.2:5080', edge: { allowLoopback: false, unknownBurst: 20, unknownWindowS: 10, banS: 600 } } }).sip;
    const ua = new SipUserAgent({ config, log: createLogger({ level: 'info', sinks: [sink] }) });
    await ua.start();
    const scanner = await socketOn('127.0.0.1');
    const peer = await socketOn('127.0.0.2');
    try {
      const port = ua.localAddress.port;
      for (let i = 0; i < 500; i++) {
        scanner.s.send(options(port, i, '127.0.0.1'), port, '127.0.0.1');
        // paced in bursts of 50 so the kernel's socket buffer never drops a datagram of the flood
        if (i % 50 === 49) await until(() => (ua.edgeStats?.refused['unknown-source'] ?? 0) + (ua.edgeStats?.refused.banned ?? 0) >= i + 1, `flood datagram ${i} reached the edge`);
      }
      await until(() => (ua.edgeStats?.refused['unknown-source'] ?? 0) + (ua.edgeStats?.refused.banned ?? 0) >= 500, 'every flood datagram reached the edge');
      peer.s.send(options(port, 9999, '127.0.0.2'), port, '127.0.0.1');
      await until(() => peer.received.length > 0, 'the configured peer gets an answer');
      assert.match(peer.received[0]?.toString() ?? '', /^SIP\/2\.0 200 /);
      assert.equal(scanner.received.length, 0, 'the scanner learns nothing');
      const stats = ua.edgeStats;
      assert.equal(stats?.bansTotal, 1);
      assert.equal(stats?.refused['unknown-source'], 20);
      assert.equal(stats?.refused.banned, 480);
      const lines = sink.lines.filter((l) => l.includes('127.0.0.1') && /refused|banned/.test(l));
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[0] ?? '', /SIP request refused: source is not a configured peer/);
      assert.match(lines[1] ?? '', /SIP source banned for 600 s/);
      assert.equal(ua.counters.received, 1, 'only the peer\'s request reached the transaction layer');
    } finally {
      scanner.s.close();
      peer.s.close();
      await ua.stop();
    }
  });

  it('TCP: a connection from an unknown address is closed as it is accepted (logged once); a configured peer\'s connection carries its OPTIONS', async () => {
    const sink = memorySink();
    const config = parseConfig({ sip: { bindPort: 0, transport: 'tcp', contactCenterUri: 'sip:{called}@127.0.0.2:5080', edge: { allowLoopback: false } } }).sip;
    const ua = new SipUserAgent({ config, log: createLogger({ level: 'info', sinks: [sink] }) });
    await ua.start();
    try {
      const port = ua.localAddress.port;
      const closedUnanswered = await new Promise<boolean>((resolve) => {
        const c = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
        let data = false;
        c.on('connect', () => c.write(options(port, 1, '127.0.0.1')));
        c.on('data', () => (data = true));
        c.on('error', () => undefined);
        c.on('close', () => resolve(!data));
      });
      assert.equal(closedUnanswered, true);
      assert.equal(sink.lines.filter((l) => l.includes('SIP request refused') && l.includes('(connection)')).length, 1);
      const answer = await new Promise<string>((resolve, reject) => {
        const c = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
        c.on('connect', () => c.write(Buffer.from(options(port, 2, '127.0.0.2').toString().replace('SIP/2.0/UDP', 'SIP/2.0/TCP'))));
        c.on('data', (d) => {
          resolve(d.toString());
          c.destroy();
        });
        c.on('error', reject);
      });
      assert.match(answer, /^SIP\/2\.0 200 /);
    } finally {
      await ua.stop();
    }
  });
});
