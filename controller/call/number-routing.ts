/**
 * SIP → PSTN number manipulation (config `sip.routing`, docs/sip-calls.md): the called number is
 * the Request-URI's user part (RFC 3261 §19.1.1, up to the first `;` user parameter such as
 * `phone-context`, percent-decoded, visual separators `-.()` and spaces removed, RFC 3966 §5.1.1);
 * the first rule whose prefix or regular expression matches strips leading digits, prepends
 * others and names the trunk. No rules: the number is dialled as is on any trunk; rules but no
 * match: no route (the caller gets 404).
 */
import { TonewallError } from '../../hw/base/errors';

export interface RoutingRule {
  prefix?: string | undefined;
  regex?: string | undefined;
  strip: number;
  prepend: string;
  trunk?: string | undefined;
}

export interface RouteDecision {
  calledNumber: string;
  trunk: string | undefined;
}

/** The dialable number of a sip:/sips:/tel: Request-URI; throws ENUMBER when it has none. */
export function calledNumberOf(requestUri: string): string {
  const m = /^(?:sips?:([^@;?]*(?:;[^@?]*)?)@|tel:([^;?]+))/i.exec(requestUri);
  const userPart = m?.[1] ?? m?.[2];
  if (userPart === undefined) throw new TonewallError('ENUMBER', `Request-URI "${requestUri}" has no user part to dial (expected sip:<number>@host or tel:<number>)`);
  let user: string;
  try {
    user = decodeURIComponent(userPart.split(';')[0] ?? '');
  } catch {
    throw new TonewallError('ENUMBER', `Request-URI user "${userPart}" has a bad percent escape`);
  }
  const digits = user.replace(/[-.() ]/g, '');
  if (!/^\+?[0-9*#]{1,32}$/.test(digits)) {
    throw new TonewallError('ENUMBER', `Request-URI user "${user}" is not a dialable number (expected up to 32 of 0-9 * # with an optional leading +)`);
  }
  return digits;
}

function matches(rule: RoutingRule, number: string): boolean {
  if (rule.regex !== undefined) return new RegExp(`^(?:${rule.regex})$`).test(number);
  return number.startsWith(rule.prefix ?? '');
}

/** Applies the first matching rule; undefined when rules exist and none matches. */
export function routeNumber(number: string, rules: readonly RoutingRule[]): RouteDecision | undefined {
  if (rules.length === 0) return { calledNumber: number, trunk: undefined };
  const rule = rules.find((r) => matches(r, number));
  if (!rule) return undefined;
  const rest = number.slice(Math.min(rule.strip, number.length));
  return { calledNumber: rule.prepend + rest, trunk: rule.trunk };
}
