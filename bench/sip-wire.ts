/**
 * What `npm run bench:sip` reads off the wire (captured UDP on loopback, bench/sip-pcap.ts):
 *
 *  - SIP processing times at the appliance, per dialog (Call-ID), from capture timestamps:
 *      INVITE → 100 Trying: first INVITE into the appliance's SIP port → first 100 for CSeq INVITE out of it
 *        (RFC 3261 §17.2.1: the server transaction's 100, sent by us without waiting for the PSTN);
 *      INVITE → 200 OK: first INVITE in → first 2xx for CSeq INVITE out (includes the PSTN's answer time);
 *      200 OK → ACK: first 2xx for CSeq INVITE into the appliance (it placed the call, PSTN → SIP)
 *        → first ACK out of it for that Call-ID (RFC 3261 §13.2.2.4: the UAC's ACK for a 2xx).
 *  - RTP the appliance sends: per stream (source port, SSRC), audio payload types only (0, 8), the
 *    interval between consecutive packets (consecutive sequence numbers) minus the packetisation
 *    time: the send jitter we add, in ms (RFC 3550 §5.1 sequence numbers; the timestamps say
 *    what the interval should be).
 */

import type { UdpDatagram } from './sip-pcap';

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

/** Nearest-rank percentile (0 for an empty list). */
export const percentile = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0;
};

interface SipSummary {
  /** Request method, or undefined for a response. */
  method: string | undefined;
  status: number | undefined;
  callId: string;
  cseqMethod: string;
}

/** The start line, Call-ID and CSeq method of a SIP message (compact form `i:` accepted); undefined if it is not SIP. */
export function summariseSip(payload: Buffer): SipSummary | undefined {
  const text = payload.toString('latin1', 0, Math.min(payload.length, 4096));
  const eol = text.indexOf('\r\n');
  if (eol < 0) return undefined;
  const start = text.slice(0, eol);
  const response = /^SIP\/2\.0 (\d{3}) /.exec(start);
  const request = /^([A-Z]+) \S+ SIP\/2\.0$/.exec(start);
  if (!response && !request) return undefined;
  const callId = /\r\n(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/i.exec(text)?.[1];
  const cseq = /\r\nCSeq[ \t]*:[ \t]*\d+[ \t]+([A-Z]+)/i.exec(text)?.[1];
  if (callId === undefined || cseq === undefined) return undefined;
  return { method: request?.[1], status: response ? Number(response[1]) : undefined, callId, cseqMethod: cseq.toUpperCase() };
}

export interface SipTimes {
  /** INVITE → 100 Trying at the appliance, ms, one per dialog that had both. */
  inviteToTryingMs: number[];
  /** INVITE in → 200 OK out, ms (PSTN call setup and answer included), one per answered dialog. */
  inviteToOkMs: number[];
  /** 200 OK → ACK at the appliance, ms, one per dialog the appliance placed. */
  okToAckMs: number[];
}

/** SIP processing times of the appliance listening on `appPort`, from datagrams in capture order. */
export function sipTimes(datagrams: readonly UdpDatagram[], appPort: number): SipTimes {
  const inviteAt = new Map<string, number>();
  const okAt = new Map<string, number>();
  const out: SipTimes = { inviteToTryingMs: [], inviteToOkMs: [], okToAckMs: [] };
  const done = new Set<string>();
  for (const d of datagrams) {
    if (d.dstPort !== appPort && d.srcPort !== appPort) continue;
    const m = summariseSip(d.payload);
    if (!m) continue;
    const inbound = d.dstPort === appPort;
    if (inbound && m.method === 'INVITE' && !inviteAt.has(m.callId)) inviteAt.set(m.callId, d.tsUs);
    else if (!inbound && m.status === 100 && m.cseqMethod === 'INVITE') {
      const t = inviteAt.get(m.callId);
      const key = `100 ${m.callId}`;
      if (t !== undefined && !done.has(key)) {
        done.add(key);
        out.inviteToTryingMs.push((d.tsUs - t) / 1000);
      }
    } else if (!inbound && m.status !== undefined && m.status >= 200 && m.status < 300 && m.cseqMethod === 'INVITE') {
      const t = inviteAt.get(m.callId);
      const key = `200 ${m.callId}`;
      if (t !== undefined && !done.has(key)) {
        done.add(key);
        out.inviteToOkMs.push((d.tsUs - t) / 1000);
      }
    } else if (inbound && m.status !== undefined && m.status >= 200 && m.status < 300 && m.cseqMethod === 'INVITE' && !okAt.has(m.callId)) okAt.set(m.callId, d.tsUs);
    else if (!inbound && m.method === 'ACK') {
      const t = okAt.get(m.callId);
      const key = `ack ${m.callId}`;
      if (t !== undefined && !done.has(key)) {
        done.add(key);
        out.okToAckMs.push((d.tsUs - t) / 1000);
      }
    }
  }
  return out;
}

export interface RtpStreamStats {
  srcPort: number;
  dstPort: number;
  ssrc: number;
  packets: number;
}

export interface RtpSendStats {
  streams: RtpStreamStats[];
  /** |interval − ptime| for every pair of consecutive packets of a stream, ms. */
  deviationsMs: number[];
}

/** The G.711 audio RTP packets with fixed header fields, or undefined (RTCP, events, not RTP). */
function rtpHeader(p: Buffer): { pt: number; seq: number; ts: number; ssrc: number } | undefined {
  if (p.length < 12 || p.readUInt8(0) >> 6 !== 2) return undefined;
  const pt = p.readUInt8(1) & 0x7f;
  if (pt !== 0 && pt !== 8) return undefined;
  return { pt, seq: p.readUInt16BE(2), ts: p.readUInt32BE(4), ssrc: p.readUInt32BE(8) };
}

/**
 * RTP audio sent from ports `fromPortMin..fromPortMax`: per-stream counts and the interval
 * deviation from the packetisation time the RTP timestamps give (8 kHz clock, G.711).
 */
export function rtpSendStats(datagrams: readonly UdpDatagram[], fromPortMin: number, fromPortMax: number): RtpSendStats {
  const last = new Map<string, { tsUs: number; seq: number; ts: number; stats: RtpStreamStats }>();
  const deviationsMs: number[] = [];
  for (const d of datagrams) {
    if (d.srcPort < fromPortMin || d.srcPort > fromPortMax) continue;
    const h = rtpHeader(d.payload);
    if (!h) continue;
    const key = `${d.srcPort}/${d.dstPort}/${h.ssrc}`;
    const prev = last.get(key);
    const stats = prev?.stats ?? { srcPort: d.srcPort, dstPort: d.dstPort, ssrc: h.ssrc, packets: 0 };
    stats.packets++;
    if (prev && ((prev.seq + 1) & 0xffff) === h.seq) {
      const expectedMs = ((h.ts - prev.ts) >>> 0) / 8;
      deviationsMs.push(Math.abs((d.tsUs - prev.tsUs) / 1000 - expectedMs));
    }
    last.set(key, { tsUs: d.tsUs, seq: h.seq, ts: h.ts, stats });
  }
  return { streams: [...last.values()].map((v) => v.stats), deviationsMs };
}

/** Audio RTP packets per destination port range (what arrived at the appliance, by its port). */
export function rtpReceivedByPort(datagrams: readonly UdpDatagram[], toPortMin: number, toPortMax: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of datagrams) {
    if (d.dstPort < toPortMin || d.dstPort > toPortMax || !rtpHeader(d.payload)) continue;
    out.set(d.dstPort, (out.get(d.dstPort) ?? 0) + 1);
  }
  return out;
}
