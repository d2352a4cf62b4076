/**
 * The peers allowed to send SIP requests (DESIGN.md §7): `sip.edge.allow` (addresses and CIDRs,
 * IPv4 and IPv6), the literal addresses of the trunks (and of contactCenterUri when it is the
 * implicit trunk), and loopback when `allowLoopback`. Host names are not resolved here: a trunk
 * named by host name is allowed through an `allow` entry for its addresses (docs/sip.md).
 */
import { BlockList, isIP } from 'node:net';
import { TonewallError } from '../../../hw/base/errors';
import type { SipConfig } from '../../config/schema';
import { uriDestination } from '../core/dialogs/dialog';
import { effectiveTrunks } from '../trunk/trunk-set';

/** "::ffff:192.0.2.1" (IPv4 on a dual-stack socket) → "192.0.2.1". */
export function normaliseIp(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export class AllowList {
  private readonly list = new BlockList();
  readonly entries: string[] = [];

  /** Adds an address or CIDR; throws naming the entry when it is neither. */
  add(entry: string): void {
    const [addr = '', prefixText] = entry.split('/');
    const family = isIP(addr);
    if (family === 0) throw new TonewallError('ESIPEDGE', `allow entry "${entry}": "${addr}" is not an IPv4 or IPv6 address`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) this.list.addAddress(addr, type);
    else {
      const prefix = Number(prefixText);
      const max = family === 4 ? 32 : 128;
      if (!/^[0-9]{1,3}$/.test(prefixText) || prefix > max) throw new TonewallError('ESIPEDGE', `allow entry "${entry}": prefix "/${prefixText}" is not 0-${max}`);
      this.list.addSubnet(addr, prefix, type);
    }
    this.entries.push(entry);
  }

  has(address: string): boolean {
    const a = normaliseIp(address);
    const family = isIP(a);
    if (family === 0) return false;
    return this.list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** The allow list a configuration gives (see the header comment). */
export function allowListFromConfig(config: SipConfig): AllowList {
  const list = new AllowList();
  for (const e of config.edge.allow) list.add(e);
  for (const t of effectiveTrunks(config)) {
    const host = uriDestination(t.uri.replace('{called}', 'x')).address;
    if (isIP(host) !== 0) list.add(host);
  }
  if (config.edge.allowLoopback) {
    list.add('127.0.0.0/8');
    list.add('::1');
  }
  return list;
}
