// dnsmasq as a sandbox router's DHCP, DHCPv6/RA and DNS server (the demo's
// routers and the test bed's): the options, the argv they become (pure), and
// the query log parser.

/** DHCPv4 service on the router's LAN. */
export interface DhcpOptions {
  /** First and last address handed out. */
  range: [string, string];
  /** Lease time as dnsmasq reads it: '2m' (the minimum dnsmasq allows), '1h', 'infinite'. Default '10m'. */
  leaseTime?: string;
  /** Renewal (T1) and rebinding (T2) times in seconds, to make dhclient renew sooner than the 2 min minimum lease. */
  renewSeconds?: number;
  rebindSeconds?: number;
  /** dhcp-host pinning, dnsmasq syntax: 'MAC,IP', 'id:*,IP', 'HOSTNAME,IP'. */
  hosts?: string[];
  /** Routers handed out (option 3). Default: the router's own address. Empty list: none. */
  routers?: string[];
  /** DNS servers handed out (option 6). Default: the router's own address. */
  dnsServers?: string[];
  /** Classless static routes (option 121), as [destination/prefix, gateway] pairs. */
  classlessRoutes?: Array<[string, string]>;
}

/** DHCPv6 and router advertisements on the router's LAN. */
export interface Dhcp6Options {
  /**
   * Address range for stateful DHCPv6. Omit for RA only (SLAAC with
   * mode 'slaac' or 'ra-stateless', or just a default route with 'ra-only').
   */
  range?: [string, string];
  /** dhcp-range mode keyword (dnsmasq): 'slaac', 'ra-only', 'ra-stateless', 'ra-names'. */
  mode?: 'slaac' | 'ra-only' | 'ra-stateless' | 'ra-names';
  leaseTime?: string;
  /** Send router advertisements (enable-ra). Default true. */
  ra?: boolean;
  /** ra-param value after the interface: e.g. '10,600' (interval s, router lifetime s); 'high,10,600'. */
  raParam?: string;
  /** DNS servers handed out (option6:dns-server). Default: the router's own IPv6 address. */
  dnsServers?: string[];
}

/** DNS service: per-router answers and a query log. */
export interface DnsOptions {
  /** name → addresses (host-record): 'which.test': ['192.0.2.1', '2001:db8::1']. */
  records?: Record<string, string[]>;
  /** address=/domain/IP entries: answers the domain and all its subdomains. */
  domains?: Record<string, string>;
}

export interface DnsmasqSpec {
  lanIfname: string;
  address4?: string;
  address6?: string;
  dhcp?: DhcpOptions;
  dhcp6?: Dhcp6Options;
  dns?: DnsOptions;
  /** Files dnsmasq writes, all in the router's temp dir. */
  pidFile: string;
  logFile: string;
  leaseFile: string;
  /** Anything else, verbatim. */
  extraArgs?: string[];
}

/** The dnsmasq argv for a router (no shell, no config file). */
export function dnsmasqArgv(spec: DnsmasqSpec): string[] {
  const argv = [
    'dnsmasq',
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    `--pid-file=${spec.pidFile}`,
    `--dhcp-leasefile=${spec.leaseFile}`,
    `--log-facility=${spec.logFile}`,
    '--log-queries',
    '--log-dhcp',
    '--user=root',
    '--group=root',
    `--interface=${spec.lanIfname}`,
    '--bind-dynamic',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--dhcp-authoritative',
  ];
  const dhcp = spec.dhcp;
  if (dhcp) {
    argv.push(`--dhcp-range=${dhcp.range[0]},${dhcp.range[1]},${dhcp.leaseTime ?? '10m'}`);
    for (const host of dhcp.hosts ?? []) argv.push(`--dhcp-host=${host}`);
    const routers = dhcp.routers ?? (spec.address4 ? [spec.address4] : []);
    argv.push(routers.length ? `--dhcp-option=option:router,${routers.join(',')}` : '--dhcp-option=option:router');
    const dns = dhcp.dnsServers ?? (spec.address4 ? [spec.address4] : []);
    argv.push(dns.length ? `--dhcp-option=option:dns-server,${dns.join(',')}` : '--dhcp-option=option:dns-server');
    if (dhcp.classlessRoutes?.length) {
      argv.push(`--dhcp-option=option:classless-static-route,${dhcp.classlessRoutes.map(([d, g]) => `${d},${g}`).join(',')}`);
    }
    if (dhcp.renewSeconds !== undefined) argv.push(`--dhcp-option=option:T1,${dhcp.renewSeconds}`);
    if (dhcp.rebindSeconds !== undefined) argv.push(`--dhcp-option=option:T2,${dhcp.rebindSeconds}`);
  }
  const dhcp6 = spec.dhcp6;
  if (dhcp6) {
    const tail = [dhcp6.mode, '64', dhcp6.leaseTime ?? '10m'].filter(Boolean).join(',');
    if (dhcp6.range) argv.push(`--dhcp-range=${dhcp6.range[0]},${dhcp6.range[1]},${tail}`);
    else argv.push(`--dhcp-range=::,constructor:${spec.lanIfname},${dhcp6.mode ?? 'ra-only'},64,${dhcp6.leaseTime ?? '10m'}`);
    if (dhcp6.ra ?? true) argv.push('--enable-ra');
    if (dhcp6.raParam) argv.push(`--ra-param=${spec.lanIfname},${dhcp6.raParam}`);
    const dns = dhcp6.dnsServers ?? (spec.address6 ? [spec.address6] : []);
    if (dns.length) argv.push(`--dhcp-option=option6:dns-server,${dns.map((a) => `[${a}]`).join(',')}`);
  }
  for (const [name, addrs] of Object.entries(spec.dns?.records ?? {})) {
    argv.push(`--host-record=${name},${addrs.join(',')}`);
  }
  for (const [domain, addr] of Object.entries(spec.dns?.domains ?? {})) {
    argv.push(`--address=/${domain}/${addr}`);
  }
  argv.push(...(spec.extraArgs ?? []));
  return argv;
}

/** One DNS query dnsmasq logged (`query[A] name from 192.168.1.100`). */
export interface LoggedQuery {
  type: string;
  name: string;
  from: string;
}

/** The queries in a dnsmasq log, in order. */
export function parseQueryLog(text: string): LoggedQuery[] {
  const out: LoggedQuery[] = [];
  for (const m of text.matchAll(/query\[(\w+)\] (\S+) from (\S+)/g)) {
    out.push({ type: m[1]!, name: m[2]!, from: m[3]! });
  }
  return out;
}
