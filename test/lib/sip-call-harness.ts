/**
 * Helpers for integration and interop tests that place real calls from our SipUserAgent: an RTP
 * session with a known audio pattern, and promises for the call's events.
 */
import { nullLogger, type Logger } from '../../hw/base/logger';
import { configSchema, type SipConfig } from '../../controller/config/schema';
import { RtpSession } from '../../controller/media/rtp-session';
import type { OutgoingCall } from '../../controller/sip/api/outgoing-call';

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
