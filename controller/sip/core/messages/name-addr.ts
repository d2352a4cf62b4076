/**
 * name-addr / addr-spec with header parameters, RFC 3261 §20.10 (Contact), §20.20 (From), §20.39 (To):
 *
 *   "Display Name" <sip:user@host;uri-param>;tag=abc     name-addr
 *   Display Name <sip:user@host>;tag=abc                   name-addr, token display name
 *   sip:user@host;tag=abc                                  addr-spec: ';' starts the header params
 *
 * Contract: the URI is kept as text (`uri`) and parsed on demand, so non-SIP URIs (tel:) pass.
 */
import { TonewallError } from '../../../../hw/base/errors';
import { sipError } from './sip-error';
import { formatParams, parseParams } from './uri';

export interface NameAddr {
  displayName: string | undefined;
  uri: string;
  /** Header parameters (tag, expires, q, …), names lower-cased. */
  params: Map<string, string | null>;
}

function naError(value: string, why: string): TonewallError {
  return sipError('ESIPHEADER', `address "${value}": ${why}`);
}

export function parseNameAddr(value: string): NameAddr {
  const text = value.trim();
  let displayName: string | undefined;
  let uri: string;
  let rest: string;
  const lt = text.startsWith('"') ? -2 : text.indexOf('<');
  if (text.startsWith('"')) {
    let i = 1;
    let name = '';
    for (; i < text.length && text[i] !== '"'; i++) {
      if (text[i] === '\\') i++;
      name += text[i] ?? '';
    }
    if (i >= text.length) throw naError(value, 'unterminated quoted display name');
    displayName = name;
    const after = text.slice(i + 1).trimStart();
    if (!after.startsWith('<')) throw naError(value, 'expected "<" after the quoted display name');
    const gt = after.indexOf('>');
    if (gt < 0) throw naError(value, 'missing ">"');
    uri = after.slice(1, gt).trim();
    rest = after.slice(gt + 1);
  } else if (lt >= 0) {
    const name = text.slice(0, lt).trim();
    displayName = name === '' ? undefined : name;
    const gt = text.indexOf('>', lt);
    if (gt < 0) throw naError(value, 'missing ">"');
    uri = text.slice(lt + 1, gt).trim();
    rest = text.slice(gt + 1);
  } else {
    const semi = text.indexOf(';');
    // SEMI = SWS ";" SWS (§25.1): whitespace before the first ';' is not part of the URI.
    uri = (semi < 0 ? text : text.slice(0, semi)).trimEnd();
    rest = semi < 0 ? '' : text.slice(semi);
    if (/\s/.test(uri)) throw naError(value, 'an addr-spec may not contain whitespace (use <…>)');
  }
  if (uri === '') throw naError(value, 'empty URI');
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri)) throw naError(value, `"${uri}" is not an absolute URI`);
  rest = rest.trim();
  if (rest !== '' && !rest.startsWith(';')) throw naError(value, `unexpected "${rest}" after the URI`);
  return { displayName, uri, params: headerParams(rest, value) };
}

/**
 * Header parameters after the address (§25.1 generic-param: token [= token / host / quoted-string]).
 * A quoted value (RFC 4475 §3.1.1.2: UTF-8 inside quotes) is kept with its quotes; ';' inside quotes
 * does not split. Other values follow the URI parameter grammar (parseParams).
 */
function headerParams(rest: string, value: string): Map<string, string | null> {
  if (!rest.includes('"')) return parseParams(rest.replace(/\s*;\s*/g, ';').slice(1), value);
  const params = new Map<string, string | null>();
  let i = 1;
  while (i <= rest.length) {
    let j = i;
    let quoted = false;
    for (; j < rest.length && (quoted || rest[j] !== ';'); j++) {
      if (rest[j] === '\\' && quoted) j++;
      else if (rest[j] === '"') quoted = !quoted;
    }
    if (quoted) throw naError(value, 'unterminated quoted parameter value');
    const part = rest.slice(i, j).trim();
    const eq = part.indexOf('=');
    const v = eq < 0 ? null : part.slice(eq + 1).trim();
    if (v !== null && v.startsWith('"')) {
      if (!v.endsWith('"') || v.length < 2) throw naError(value, `parameter value ${v.slice(0, 40)} has text after its closing quote`);
      params.set(part.slice(0, eq).trim().toLowerCase(), v);
    } else for (const [k, pv] of parseParams(part, value)) params.set(k, pv);
    i = j + 1;
  }
  return params;
}

function quoteDisplayName(name: string): string {
  return `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export function formatNameAddr(na: NameAddr): string {
  const dn = na.displayName !== undefined && na.displayName !== '' ? `${quoteDisplayName(na.displayName)} ` : '';
  return `${dn}<${na.uri}>${formatParams(na.params)}`;
}
