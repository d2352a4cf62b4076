/**
 * A 400 Bad Request for a request our parser rejected (RFC 3261 §8.2: a UAS answers a malformed
 * request 400 when it can; §16.3 names the headers a response needs). The header lines a response
 * copies (Via, From, To, Call-ID, CSeq) are picked out of the raw text leniently; when any is
 * missing or malformed itself, or the datagram is not a request, or it is an ACK (never answered,
 * §17.1.1.3), no response can be built and undefined is returned: the caller just counts the drop.
 *
 * The parser's error goes in a Warning header (code 399, RFC 3261 §20.43) so the sender learns
 * what was wrong ("Content-Length 900 exceeds body length 12"). A request in another SIP version
 * gets 505 Version Not Supported instead (§8.2.2 / §21.5.6; RFC 4475 §3.1.2.16).
 */
import { newTag } from './build';
import type { HeaderField, SipResponse } from './message';
import { parseMessage, serializeMessage } from './parser';

const WANTED: Readonly<Record<string, string>> = {
  via: 'via', v: 'via', from: 'from', f: 'from', to: 'to', t: 'to', 'call-id': 'call-id', i: 'call-id', cseq: 'cseq',
};

export function badRequestFor(raw: Buffer, error: string, agent: string, status: 400 | 505 = 400): SipResponse | undefined {
  const text = raw.toString('latin1', 0, Math.min(raw.length, 8192));
  const headEnd = text.search(/\r?\n\r?\n/);
  const lines = (headEnd < 0 ? text : text.slice(0, headEnd)).replace(/^[\r\n]+/, '').split(/\r?\n/);
  const start = lines[0] ?? '';
  if (/^SIP\//i.test(start) || /^ACK\s/i.test(start) || !/^[^\s]+\s/.test(start)) return undefined;
  const headers: HeaderField[] = [];
  for (const line of lines.slice(1)) {
    const m = /^([A-Za-z-]+)[ \t]*:[ \t]*(.*)$/.exec(line);
    const name = m ? WANTED[(m[1] ?? '').toLowerCase()] : undefined;
    if (m && name) headers.push({ name, value: (m[2] ?? '').trim() });
  }
  for (const need of ['via', 'from', 'to', 'call-id', 'cseq']) {
    if (!headers.some((h) => h.name === need && h.value !== '')) return undefined;
  }
  // Every Via; the first From/To/Call-ID/CSeq (a request repeating them, RFC 4475 §3.3.8, still gets its 400).
  const ordered = ['via', 'from', 'to', 'call-id', 'cseq'].flatMap((n) => headers.filter((h) => h.name === n).slice(0, n === 'via' ? undefined : 1));
  const to = ordered.find((h) => h.name === 'to');
  if (to && !/;\s*tag\s*=/i.test(to.value)) to.value = `${to.value};tag=${newTag()}`;
  const warning = error.replace(/["\\\r\n]/g, "'").slice(0, 200);
  ordered.push({ name: 'warning', value: `399 ${agent.replace(/\s/g, '-') || 'tonewall'} "${warning}"` });
  const res: SipResponse = { kind: 'response', status, reason: status === 505 ? 'Version Not Supported' : 'Bad Request', headers: ordered, body: Buffer.alloc(0) };
  // The copied headers may be the malformed part: never send a response we would reject ourselves.
  // A 505 copies Vias of the other version (SIP/7.0/UDP …): checked as if they were 2.0.
  const probe = status === 505 ? { ...res, headers: res.headers.map((h) => (h.name === 'via' ? { ...h, value: h.value.replace(/^SIP\s*\/\s*[0-9.]+\s*\//i, 'SIP/2.0/') } : h)) } : res;
  try {
    parseMessage(serializeMessage(probe));
  } catch {
    return undefined;
  }
  return res;
}
