// dhclient-script's environment → what the routing library and the DNS
// module must do. Pure: no I/O, the environment is passed in.
//
// The reasons and their meaning follow /sbin/dhclient-script (Debian,
// isc-dhcp-client 4.4) and dhclient-script(8):
//   BOUND RENEW REBIND REBOOT   new lease in new_*, previous one in old_*;
//                               a changed address removes the old one first
//   TIMEOUT                     no server; new_* is a recorded lease to try:
//                               configure it, then ping the first router
//   EXPIRE FAIL RELEASE STOP    the lease in old_* (if any) goes away
//   (all of these: one lease per interface, so the events carry soleLease:
//   any other DHCP lease of ours on the interface is stale, e.g. after a
//   DHCPNAK, and goes too; docs/dhcp.md "Stale leases")
//   BOUND6 RENEW6 REBIND6       new_ip6_address/new_ip6_prefixlen with
//                               new_preferred_life/new_max_life; old_ip6_*;
//                               no gateway (it comes from router advertisements)
//   EXPIRE6 RELEASE6 STOP6      old_ip6_address goes away (only it, as
//                               dhclient-script: no soleLease)
//   PREINIT PREINIT6 DEPREF6 MEDIUM ARPCHECK ARPSEND NBI V6ONLY, unknown:
//                               not ours: dhclient-script does what it does
//                               (link up, flush stale addresses, deprecate)
// Any invalid value rejects the whole event (DhcpEnvError): no event of a
// half-parsed environment is ever returned.

import type { DnsUpdateRequest } from '../dns/update.js';
import { hostPrefix, prefixContains, prefixOf, type Family, type IpAddress, type IpInterfaceAddress } from '../net/address.js';
import { IfnameError, parseIfname } from '../net/ifname.js';
import type { AddressDown, AddressUp, ExtraRoute, RoutingEvent } from '../plan/event.js';
import { parseClasslessRoutes } from './classless.js';
import {
  DhcpEnvError,
  MAX_NAME_SERVERS,
  MAX_ROUTERS,
  readAddress,
  readAddressList,
  readLifetime,
  readMtu,
  readNetmask,
  readPrefixLength6,
  valueOf,
  type Env,
} from './fields.js';

export { DhcpEnvError } from './fields.js';

/** The name servers an interface has for one family after this event (empty: remove them). */
export type DnsUpdate = DnsUpdateRequest;

/** One dhclient-script invocation, parsed. */
export interface DhclientHook {
  reason: string;
  ifname: string;
  /** 4 for DHCPv4 reasons, 6 for the DHCPv6 ones (…6). */
  family: Family;
  /** False: leave this reason to dhclient-script (events and dns are empty). */
  handled: boolean;
  /** In order: an address-down of a replaced address comes before the address-up. */
  events: RoutingEvent[];
  /** Absent: DNS is left as it is. */
  dns?: DnsUpdate;
  /**
   * TIMEOUT only: ping this router (the first of new_routers) after the
   * recorded lease is configured; no answer makes the lease unusable.
   */
  probe?: IpAddress;
}

const V4_UP = new Set(['BOUND', 'RENEW', 'REBIND', 'REBOOT']);
const V4_DOWN = new Set(['EXPIRE', 'FAIL', 'RELEASE', 'STOP']);
const V6_UP = new Set(['BOUND6', 'RENEW6', 'REBIND6']);
const V6_DOWN = new Set(['EXPIRE6', 'RELEASE6', 'STOP6']);

/** True for the reasons this hook takes over from dhclient-script. */
export function isHandledReason(reason: string): boolean {
  return reason === 'TIMEOUT' || V4_UP.has(reason) || V4_DOWN.has(reason) || V6_UP.has(reason) || V6_DOWN.has(reason);
}

/** Parses dhclient-script's environment; throws DhcpEnvError/IfnameError on untrusted junk. */
export function parseDhclientEnv(env: Env): DhclientHook {
  const reason = env.reason ?? '';
  const family: Family = reason.endsWith('6') ? 6 : 4;
  if (!isHandledReason(reason)) {
    return { reason, ifname: env.interface ?? '', family, handled: false, events: [] };
  }
  let ifname: string;
  try {
    ifname = parseIfname(env.interface);
  } catch (err) {
    if (err instanceof IfnameError) throw new DhcpEnvError('interface', 'a Linux interface name', env.interface ?? '');
    throw err;
  }
  const hook: DhclientHook = { reason, ifname, family, handled: true, events: [] };

  if (V4_UP.has(reason) || reason === 'TIMEOUT') {
    const lease = readLease4(env, 'new_', ifname);
    if (!lease) throw new DhcpEnvError('new_ip_address', `an IPv4 address for ${reason}`, '');
    const old = reason === 'TIMEOUT' ? undefined : readAddress4(env, 'old_');
    if (old && !sameAddress(old, lease.up.address)) hook.events.push(addressDown(ifname, old));
    // One DHCPv4 lease per interface: any other of ours is stale (a DHCPNAK).
    hook.events.push({ ...lease.up, soleLease: true });
    hook.dns = { ifname, family: 4, servers: lease.servers };
    if (reason === 'TIMEOUT') {
      const router = readAddressList(env, 'new_routers', 4, MAX_ROUTERS)[0];
      if (router) hook.probe = router;
    }
  } else if (V4_DOWN.has(reason)) {
    // As dhclient-script flushes the interface's addresses when old_ip_address
    // is set: the lease file may name an older lease than the one in place.
    const old = readAddress4(env, 'old_');
    if (old) hook.events.push({ ...addressDown(ifname, old), soleLease: true });
    hook.dns = { ifname, family: 4, servers: [] };
  } else if (V6_UP.has(reason)) {
    const servers = readAddressList(env, 'new_dhcp6_name_servers', 6, MAX_NAME_SERVERS);
    const lease = readLease6(env, 'new_', ifname);
    const old = readAddress6(env, 'old_');
    if (old && (!lease || !sameAddress(old, lease.address))) hook.events.push(addressDown(ifname, old));
    // Stateless DHCPv6 (or a prefix delegation): no address, only options.
    if (lease) hook.events.push(lease);
    hook.dns = { ifname, family: 6, servers };
  } else {
    const old = readAddress6(env, 'old_');
    if (old) hook.events.push(addressDown(ifname, old));
    hook.dns = { ifname, family: 6, servers: [] };
  }
  return hook;
}

const sameAddress = (a: IpInterfaceAddress, b: IpInterfaceAddress) =>
  a.address.text === b.address.text && a.prefix.text === b.prefix.text;

function addressDown(ifname: string, address: IpInterfaceAddress): AddressDown {
  return { kind: 'address-down', source: 'dhclient', ifname, address, manageAddress: true };
}

/** `${prefix}ip_address` with its subnet mask; undefined when there is no address. */
function readAddress4(env: Env, prefix: 'new_' | 'old_'): IpInterfaceAddress | undefined {
  const ip = readAddress(env, `${prefix}ip_address`, 4);
  return ip && { address: ip, prefix: prefixOf(ip, readNetmask(env, `${prefix}subnet_mask`)) };
}

/** The IPv4 lease with prefix `new_` and its name servers; undefined when it has no address. */
function readLease4(env: Env, prefix: 'new_', ifname: string): { up: AddressUp; servers: IpAddress[] } | undefined {
  const address = readAddress4(env, prefix);
  if (!address) return undefined;
  const broadcast = readAddress(env, `${prefix}broadcast_address`, 4, false);
  const mtu = readMtu(env, `${prefix}interface_mtu`);
  // As dhclient-script (isc-dhcp-client 4.4): the address lives as long as
  // the lease (valid_lft = preferred_lft = new_dhcp_lease_time), and every
  // renew refreshes it (the planner's change-address), so an address whose
  // dhclient died goes away when its lease ends.
  const leaseTime = readLifetime(env, `${prefix}dhcp_lease_time`);
  const servers = readAddressList(env, `${prefix}domain_name_servers`, 4, MAX_NAME_SERVERS);
  const routers = readAddressList(env, `${prefix}routers`, 4, MAX_ROUTERS);
  const classlessText = valueOf(env, `${prefix}rfc3442_classless_static_routes`);

  const gateways: IpAddress[] = [];
  const routes: ExtraRoute[] = [];
  if (classlessText !== undefined) {
    // RFC 3442: with option 121 the client ignores option 3 (routers); its
    // default routes (0.0.0.0/0 via G) become the gateways.
    for (const route of parseClasslessRoutes(`${prefix}rfc3442_classless_static_routes`, classlessText)) {
      if (route.destination.length === 0 && route.gateway) gateways.push(route.gateway);
      else routes.push(route);
    }
  } else {
    gateways.push(...routers);
  }
  // A router outside the prefix (a /32 lease on a point-to-point link) needs
  // an on-link host route to be usable, as dhclient-script adds for /32.
  for (const gateway of [...gateways, ...routes.flatMap((r) => (r.gateway ? [r.gateway] : []))]) {
    if (!prefixContains(address.prefix, gateway) && !routes.some((r) => !r.gateway && prefixContains(r.destination, gateway))) {
      routes.push({ destination: hostPrefix(gateway) });
    }
  }
  const up: AddressUp = {
    kind: 'address-up',
    source: 'dhclient',
    ifname,
    address,
    gateways,
    routes,
    manageAddress: true,
  };
  if (broadcast) up.broadcast = broadcast;
  if (mtu !== undefined) up.mtu = mtu;
  if (leaseTime !== undefined) {
    up.validLifetime = leaseTime;
    up.preferredLifetime = leaseTime;
  }
  return { up, servers };
}

/** `${prefix}ip6_address` with `${prefix}ip6_prefixlen`; undefined when there is no address. */
function readAddress6(env: Env, prefix: 'new_' | 'old_'): IpInterfaceAddress | undefined {
  const ip = readAddress(env, `${prefix}ip6_address`, 6);
  return ip && { address: ip, prefix: prefixOf(ip, readPrefixLength6(env, `${prefix}ip6_prefixlen`)) };
}

/** The DHCPv6 address with prefix `new_`; undefined when there is none. */
function readLease6(env: Env, prefix: 'new_', ifname: string): AddressUp | undefined {
  const address = readAddress6(env, prefix);
  if (!address) return undefined;
  const preferred = readLifetime(env, `${prefix}preferred_life`);
  const valid = readLifetime(env, `${prefix}max_life`);
  if (preferred !== undefined && valid !== undefined && preferred > valid) {
    throw new DhcpEnvError(`${prefix}preferred_life`, `at most ${prefix}max_life (${valid})`, String(preferred));
  }
  const up: AddressUp = {
    kind: 'address-up',
    source: 'dhclient',
    ifname,
    address,
    gateways: [],
    routes: [],
    manageAddress: true,
  };
  if (preferred !== undefined) up.preferredLifetime = preferred;
  if (valid !== undefined) up.validLifetime = valid;
  return up;
}
