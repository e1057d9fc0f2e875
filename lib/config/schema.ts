// The configuration keys, their defaults and how each value is parsed. This
// table is the single source for the parser, the installed default file and
// the README's reference (`multihomed-routing config defaults`).

export interface Config {
  /** Unix socket of the table allocator; its directory is kept 0700. */
  socketPath: string;
  /** Lease store (JSON, replaced atomically). */
  storePath: string;
  /** First and last routing table the allocator hands out. */
  tableMin: number;
  tableMax: number;
  /** Seconds a lease lives unless renewed or released. */
  leaseTime: number;
  /** Rule priorities: `from A` (10000), `to P` (20000), band base `from all` (31000). */
  prefFrom: number;
  /** Priority of the `oif IFACE lookup TABLE` rules (sockets bound to a device). */
  prefOif: number;
  prefTo: number;
  /** `lookup main suppress_prefixlength 0` (30000): main answers for all but its default routes. */
  prefMain: number;
  /** Reserved for `fwmark` rules (30100): replies of inbound connections. */
  prefFwmark: number;
  /** Reserved for pinning rules (30200). */
  prefPin: number;
  prefDefault: number;
  /** `protocol` value marking our rules and routes; we only delete these. */
  protocol: number;
  /** Interface patterns in priority order for unbound traffic (first wins). */
  interfacePriority: string[];
  /** Interfaces never managed. */
  ignoreInterfaces: string[];
  /** dnsmasq servers-file with `server=NS@IFACE` lines. */
  dnsmasqServersFile: string;
  /** pid file of the dnsmasq to SIGHUP after the servers-file changes. */
  dnsmasqPidFile: string;
  /** Set rp_filter to loose (2) on managed interfaces, restore when done. */
  looseRpFilter: boolean;
  /** Per-uplink DNS through dnsmasq (dhclient-script leaves resolv.conf alone): always, never, or where a dnsmasq reads our servers-file (lib/dns/mode.ts). */
  dnsmasqMode: 'auto' | 'yes' | 'no';
  /** Where per-interface runtime state (saved sysctls, DNS) lives. */
  runDir: string;
  /** syslog via logger(1): set to false in containers without syslog. */
  syslog: boolean;
  /** The daemon watches kernel events: cleans up after vanished addresses, renews leases, repairs. */
  watchKernel: boolean;
  /** The watcher gives SLAAC addresses their own table (RA default mirrored). */
  manageSlaac: boolean;
  /** The watcher adopts addresses that appear without a hook (lib/watch/adopt.ts). */
  adoptAddresses: boolean;
  /** Milliseconds an address waits for a hook before it is adopted. */
  adoptGraceMs: number;
}

type Kind = 'path' | 'int' | 'range' | 'list' | 'bool' | 'auto-bool';

export interface KeySpec {
  key: string;
  kind: Kind;
  default: string;
  doc: string;
}

/** Every key the config file may hold, in the order the default file lists them. */
export const KEYS: readonly KeySpec[] = [
  { key: 'socket_path', kind: 'path', default: '/run/multihomed-routing/allocator/allocator.sock', doc: 'Unix socket of the table allocator, in a directory of its own (made 0700, root only; the socket is 0600).' },
  { key: 'store_path', kind: 'path', default: '/var/lib/multihomed-routing/leases.json', doc: 'Lease store, rewritten atomically (temp file, fsync, rename).' },
  { key: 'run_dir', kind: 'path', default: '/run/multihomed-routing', doc: 'Runtime state: saved sysctls, per-interface DNS servers.' },
  { key: 'table_range', kind: 'range', default: '10000-10999', doc: 'Routing tables handed out, first-last (1-4294967294, never 253-255).' },
  { key: 'lease_time', kind: 'int', default: '3600', doc: 'Seconds a table lease lives unless renewed or released.' },
  { key: 'rule_pref_from', kind: 'int', default: '10000', doc: 'Priority of the `from ADDRESS lookup TABLE` rules.' },
  { key: 'rule_pref_oif', kind: 'int', default: '15000', doc: 'Priority of the `oif IFACE lookup TABLE` rules: sockets bound to a device (SO_BINDTODEVICE, ping -I IFACE) use its table, also when two interfaces hold the same address.' },
  { key: 'rule_pref_to', kind: 'int', default: '20000', doc: 'Priority of the `to PREFIX lookup TABLE` rules.' },
  { key: 'rule_pref_main', kind: 'int', default: '30000', doc: 'Priority of the `lookup main suppress_prefixlength 0` rule (one per family while it has a managed address): main answers for everything more specific than a default route (LANs, container bridges, VPNs); its default routes are the last resort, after the band.' },
  { key: 'rule_pref_fwmark', kind: 'int', default: '30100', doc: 'Priority of the `fwmark MARK/MASK lookup TABLE` rules: replies of inbound (also DNATed) connections leave by the uplink they came in on.' },
  { key: 'rule_pref_pin', kind: 'int', default: '30200', doc: 'Priority of the pinning rules (`iif IFACE lookup TABLE`, `from PREFIX lookup TABLE`): sources pinned to an uplink.' },
  { key: 'rule_pref_default', kind: 'int', default: '31000', doc: 'Base priority of the band, the `from all lookup TABLE` rules (unbound local and forwarded traffic); the interface order is added to it. The order must be rule_pref_from < rule_pref_oif < rule_pref_to < rule_pref_main < rule_pref_fwmark < rule_pref_pin < rule_pref_default, and the band (one rule per table of table_range) must end before main\'s rule at 32766.' },
  { key: 'protocol', kind: 'int', default: '201', doc: 'Protocol number marking our rules and routes (see /etc/iproute2/rt_protos); only these are ever deleted.' },
  { key: 'interface_priority', kind: 'list', default: 'eth* eno* end* ens* enp* enP* enX* enc* env* wlan* wl* enx* ww* usb* *', doc: 'Interface name patterns in priority order for unbound traffic (first match wins; within one pattern, names sort naturally): wired, then Wi-Fi, then USB NICs and modems, which udev names after their MAC (enx…).' },
  { key: 'ignore_interfaces', kind: 'list', default: 'lo docker* podman* cni* veth* br-* virbr* vnet* lxcbr* lxdbr* incusbr* cali* flannel* cilium* kube-* tailscale* wg* tun* tap* zt*', doc: 'Interface name patterns never managed (container, VM and Kubernetes bridges and tunnels, VPNs).' },
  { key: 'dnsmasq_servers_file', kind: 'path', default: '/run/multihomed-routing/dnsmasq-servers.conf', doc: 'dnsmasq servers-file we write (`server=NS@IFACE`).' },
  { key: 'dnsmasq_pid_file', kind: 'path', default: '/run/dnsmasq/dnsmasq.pid', doc: 'pid file of the dnsmasq that reads the servers-file; it alone gets SIGHUP.' },
  { key: 'dnsmasq_mode', kind: 'auto-bool', default: 'auto', doc: 'Per-uplink DNS: each interface\'s DNS servers go to dnsmasq\'s servers-file (`server=NS@IFACE`) and dhclient-script does not rewrite resolv.conf. auto: only while the dnsmasq of dnsmasq_pid_file reads dnsmasq_servers_file, else resolv.conf is written as without this tool; yes: always; no: never.' },
  { key: 'loose_rp_filter', kind: 'bool', default: 'yes', doc: 'Set rp_filter=2 (loose) on managed interfaces and restore the old value afterwards.' },
  { key: 'watch_kernel', kind: 'bool', default: 'yes', doc: 'The daemon follows kernel address, link and route events: removes our rules and releases the lease of an address or interface that vanished without a hook, renews leases of present addresses, re-applies tables a link down/up flushed.' },
  { key: 'manage_slaac', kind: 'bool', default: 'yes', doc: 'The watcher gives IPv6 SLAAC addresses (autoconfigured from router advertisements) on managed interfaces a table, with the RA default router mirrored into it.' },
  { key: 'adopt_addresses', kind: 'bool', default: 'yes', doc: 'The watcher adopts addresses no hook reported (NetworkManager\'s dhcp4-change, systemd-networkd, `ip addr add` by hand, links already up when the daemon starts): a global address on an up, non-ignored interface with carrier gets a table, with the default routes the kernel has for that interface in main as its gateways; main is left as it is.' },
  { key: 'adopt_grace_ms', kind: 'int', default: '2000', doc: 'Milliseconds a new address waits for a hook before the watcher adopts it (addresses present when the daemon starts are taken over at once).' },
  { key: 'syslog', kind: 'bool', default: 'yes', doc: 'Also log to syslog (facility daemon, tag multihomed-routing) through logger(1); not where standard error is already the journal (JOURNAL_STREAM).' },
];
