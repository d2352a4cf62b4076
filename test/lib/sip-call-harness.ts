/**
 * Helpers for integration and interop tests that place real calls from our SipUserAgent: an RTP
 * session with a known audio pattern, and promises for the call's events. Below, unit-level
 * helpers for dialog tests on the in-memory transport.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nullLogger, type Logger } from '../../hw/base/logger';
import { configSchema, type SipConfig } from '../../controller/config/schema';
import { RtpSession } from '../../controller/media/rtp-session';
import type { OutgoingCall } from '../../controller/sip/api/outgoing-call';
import type { IncomingCall } from '../../controller/sip/api/incoming-call';
import { SipUserAgent } from '../../controller/sip/api/user-agent';
import type { SessionTimerPolicy } from '../../controller/sip/core/dialogs/session-timer';
import { buildResponse } from '../../controller/sip/core/messages/build';
import { addHeader, header, newRequest, type SipRequest, type SipResponse } from '../../controller/sip/core/messages/message';
import { parseNameAddr } from '../../controller/sip/core/messages/name-addr';
import { ManualClock } from './manual-clock';
import { FakeSipTransport } from './sip-fake-transport';
import { freeUdpPort, makeTempDir, type SippRun } from './sip-peers';

export function testSipConfig(overrides: Partial<SipConfig> = {}): SipConfig {
  return { ...configSchema.parse({ sip: { bindPort: 0, demoEndpoint: { bindPort: 0 } } }).sip, ...overrides };
}

export async function openTestRtp(log: Logger = nullLogger, acceptPayloadTypes: number[] = [0, 8]): Promise<RtpSession> {
  return RtpSession.open({ bindAddress: '127.0.0.1', portMin: 30000, portMax: 39999, acceptPayloadTypes, log });
}

/** A known, non-silent μ-law pattern: packet i carries bytes (i*7 + j) & 0x7f | 0x80 … distinct per packet. */
export function patternPayload(index: number, samples = 160): Buffer {
  const b = Buffer.alloc(samples);
  for (let j = 0; j < samples; j++) b[j] = (index * 37 + j * 5) & 0xff;
  return b;
}

export function waitFor<T>(what: string, timeoutMs: number, arm: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    arm(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** Resolves with the SDP answer, rejects with the failure status. */
export function answered(call: OutgoingCall, timeoutMs = 10_000): Promise<string> {
  return waitFor('the call to be answered', timeoutMs, (resolve, reject) => {
    call.once('answered', resolve);
    call.once('failed', (s, r) => reject(new Error(`call failed ${s} ${r}`)));
  });
}

export function failed(call: OutgoingCall, timeoutMs = 10_000): Promise<{ status: number; reason: string }> {
  return waitFor('the call to fail', timeoutMs, (resolve, reject) => {
    call.once('failed', (status, reason) => resolve({ status, reason }));
    call.once('answered', () => reject(new Error('call was answered')));
  });
}

export function ended(call: OutgoingCall, timeoutMs = 10_000): Promise<{ by: string; reason: string }> {
  return waitFor('the call to end', timeoutMs, (resolve) => call.once('ended', (by, reason) => resolve({ by, reason })));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sends `count` pattern packets paced at ptime (20 ms) and returns them in order. */
export async function sendPattern(rtp: RtpSession, count: number, payloadType = 0): Promise<Buffer[]> {
  const sent: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const p = patternPayload(i);
    sent.push(p);
    rtp.send(payloadType, p, p.length);
    await sleep(20);
  }
  return sent;
}

// ---------------------------------------------------------------------------------------------
// Unit-level helpers: a SipUserAgent on the strict in-memory transport with a manual clock, and
// the far end's side of dialogs written by hand (RFC 3261 §12.2: From/To swapped, its own CSeq).
// ---------------------------------------------------------------------------------------------

export const FAKE_PEER = { address: '127.0.0.1', port: 5080 };
export const PEER_SDP = 'v=0\r\no=cc 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0\r\na=sendrecv\r\n';
export const OUR_SDP = 'v=0\r\no=tonewall 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 8\r\n';

export interface FakeUa {
  ua: SipUserAgent;
  clock: ManualClock;
  transport: FakeSipTransport;
}

export async function fakeUa(opts: { sessionTimer?: SessionTimerPolicy } = {}): Promise<FakeUa> {
  const clock = new ManualClock();
  const transport = new FakeSipTransport();
  const config = configSchema.parse({ sip: { inviteTimeoutMs: 3_600_000 } }).sip;
  const ua = new SipUserAgent({ config, log: nullLogger, clock, transport, ...(opts.sessionTimer ? { sessionTimer: opts.sessionTimer } : {}) });
  await ua.start();
  return { ua, clock, transport };
}

let branchSeq = 0;
function peerVia(): string {
  return `SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKpeer${++branchSeq}`;
}

/** A dialog as the far end sees it: what goes in From/To of its requests, and where they go. */
export interface PeerDialog {
  callId: string;
  /** The far end's own From value (with its tag). */
  local: string;
  /** Our address (with our tag). */
  remote: string;
  /** Our Contact URI (Request-URI of its requests). */
  target: string;
  cseq: number;
}

export function peerRequest(d: PeerDialog, method: string, opts: { headers?: Record<string, string>; body?: string; cseq?: number } = {}): SipRequest {
  const seq = opts.cseq ?? ++d.cseq;
  const req = newRequest(method, d.target);
  addHeader(req, 'Via', peerVia());
  addHeader(req, 'Max-Forwards', '70');
  addHeader(req, 'From', d.local);
  addHeader(req, 'To', d.remote);
  addHeader(req, 'Call-ID', d.callId);
  addHeader(req, 'CSeq', `${seq} ${method}`);
  addHeader(req, 'Contact', '<sip:agent@127.0.0.1:5080>');
  for (const [k, v] of Object.entries(opts.headers ?? {})) addHeader(req, k, v);
  if (opts.body !== undefined) {
    if (opts.headers?.['Content-Type'] === undefined) addHeader(req, 'Content-Type', 'application/sdp');
    req.body = Buffer.from(opts.body);
  }
  return req;
}

/** The ACK the far end sends for our 2xx to its (re-)INVITE with CSeq `seq`. */
export function peerAck(d: PeerDialog, seq: number): SipRequest {
  return peerRequest(d, 'ACK', { cseq: seq });
}

/** Places a call from our UA and answers it 200 from the fake peer (To tag cc1, Contact agent@5080). */
export function answeredOutgoing(f: FakeUa, okHeaders: Record<string, string> = {}): { call: OutgoingCall; invite: SipRequest; peer: PeerDialog } {
  const call = f.ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '5551234', sdpOffer: OUR_SDP });
  const invite = f.transport.requests('INVITE').at(-1);
  if (!invite) throw new Error('no INVITE sent');
  const ok = buildResponse(invite, 200, undefined, { toTag: 'cc1', body: Buffer.from(PEER_SDP) });
  addHeader(ok, 'Contact', '<sip:agent@127.0.0.1:5080>');
  addHeader(ok, 'Content-Type', 'application/sdp');
  for (const [k, v] of Object.entries(okHeaders)) addHeader(ok, k, v);
  f.transport.inject(ok, FAKE_PEER);
  if (call.state !== 'established') throw new Error(`call is ${call.state} after the 200`);
  const peer: PeerDialog = { callId: header(invite, 'call-id') ?? '', local: header(ok, 'to') ?? '', remote: header(invite, 'from') ?? '', target: parseNameAddr(header(invite, 'contact') ?? '').uri, cseq: 100 };
  return { call, invite, peer };
}

/** The fake peer's INVITE toward our UA (From tag p1, CSeq 1). */
export function peerInvite(callId: string, headers: Record<string, string> = {}, body = PEER_SDP): SipRequest {
  const d: PeerDialog = { callId, local: '"Caller" <sip:5550000@127.0.0.1:5080>;tag=p1', remote: '<sip:100@127.0.0.1:5062>', target: 'sip:100@127.0.0.1:5062', cseq: 0 };
  return peerRequest(d, 'INVITE', { headers, body, cseq: 1 });
}

/** Offers a call from the fake peer; resolves with our IncomingCall (not answered). */
export function offeredIncoming(f: FakeUa, headers: Record<string, string> = {}, callId = `in-${++branchSeq}@127.0.0.1`): { call: IncomingCall | undefined; invite: SipRequest } {
  let call: IncomingCall | undefined;
  const listener = (c: IncomingCall): void => {
    call = c;
  };
  f.ua.once('incoming-call', listener);
  const invite = peerInvite(callId, headers);
  f.transport.inject(invite, FAKE_PEER);
  if (!call) f.ua.off('incoming-call', listener);
  return { call, invite };
}

/** Offers, answers and ACKs a call from the fake peer. */
export function answeredIncoming(f: FakeUa, headers: Record<string, string> = {}): { call: IncomingCall; invite: SipRequest; ok: SipResponse; peer: PeerDialog } {
  const { call, invite } = offeredIncoming(f, headers);
  if (!call) throw new Error('the INVITE was not offered');
  call.answer(OUR_SDP);
  const ok = f.transport.responses(200).at(-1);
  if (!ok) throw new Error('no 200 sent');
  const peer: PeerDialog = { callId: header(invite, 'call-id') ?? '', local: header(invite, 'from') ?? '', remote: header(ok, 'to') ?? '', target: parseNameAddr(header(ok, 'contact') ?? '').uri, cseq: 1 };
  f.transport.inject(peerAck(peer, 1), FAKE_PEER);
  return { call, invite, ok, peer };
}

/** Answers our last request of `method` with `status` from the fake peer. */
export function respondToLast(f: FakeUa, method: string, status: number, opts: { headers?: Record<string, string>; body?: string } = {}): { req: SipRequest; res: SipResponse } {
  const req = f.transport.requests(method).at(-1);
  if (!req) throw new Error(`no ${method} sent`);
  const res = buildResponse(req, status, undefined, opts.body !== undefined ? { body: Buffer.from(opts.body) } : {});
  for (const [k, v] of Object.entries(opts.headers ?? {})) addHeader(res, k, v);
  if (opts.body !== undefined && opts.headers?.['Content-Type'] === undefined) addHeader(res, 'Content-Type', 'application/sdp');
  f.transport.inject(res, FAKE_PEER);
  return { req, res };
}

/** Lets promise continuations run (the dialog session awaits its transactions). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** Starts a sipp UAC scenario toward `target` (our UA) for one call; stop it by its pid (stopChild). */
export async function startSippUac(opts: { file: string; target: { address: string; port: number }; service?: string; rtpEcho?: boolean }): Promise<SippRun> {
  const dir = makeTempDir('sipp-uac');
  const sipPort = await freeUdpPort();
  let mediaPort = await freeUdpPort(true);
  while (mediaPort === sipPort) mediaPort = await freeUdpPort(true);
  const args = ['-sf', opts.file, `${opts.target.address}:${opts.target.port}`, '-s', opts.service ?? '100', '-i', '127.0.0.1', '-p', String(sipPort), '-mi', '127.0.0.1', '-mp', String(mediaPort), '-m', '1', '-nostdin', '-timeout', '30s', '-timeout_error', '-trace_err', '-trace_msg'];
  if (opts.rtpEcho) args.push('-rtp_echo');
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return {
    child,
    dir,
    sipPort,
    mediaPort,
    exit,
    output: () => {
      const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => `--- ${f}\n${fs.readFileSync(path.join(dir, f), 'utf8')}`);
      return `${out.slice(-3000)}\n${logs.join('\n')}`;
    },
  };
}
