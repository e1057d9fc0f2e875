// The configuration keys, their defaults and how each value is parsed. This
// table is the single source for the parser, the installed default file and
// the README's reference (`multihomed-routing config defaults`).

import type { HealthConfig } from './health.js';
import type { Pin } from './pins.js';

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
  prefDefault: number;
  /** Priority of the `fwmark M/MASK lookup TABLE` rules: connections marked for an uplink (inbound ones' replies, forwarded ones kept on it; docs/forwarding.md). */
  prefFwmark: number;
  /** First priority of the pinning rules (`iif X lookup T`, `from P lookup T`). */
  prefPin: number;
  /** Sources of forwarded traffic pinned to uplinks (docs/forwarding.md). */
  pins: Pin[];
  /** The bits of the packet and connection mark that are ours (contiguous). */
  fwmarkMask: number;
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
  /** Seconds a lease whose address is not on its interface is kept before the watcher releases it. */
  leaseReclaimGrace: number;
  /** Executables run for every event of the daemon (docs/events.md). */
  eventsDir: string;
  /** Milliseconds an event script may run before it is killed. */
  eventScriptTimeoutMs: number;
  /** node_exporter textfile of the daemon's metrics ('' off). */
  metricsTextfile: string;
  /** Upstream health probes of the daemon (health_* keys, lib/config/health.ts). */
  health: HealthConfig;
}

type Kind = 'path' | 'int' | 'range' | 'list' | 'bool' | 'auto-bool' | 'pins' | 'mask' | 'health';

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
  { key: 'rule_pref_fwmark', kind: 'int', default: '30100', doc: 'Priority of the `fwmark MARK/MASK lookup TABLE` rules: replies of connections that arrived on an uplink (a port published by a container) leave by that uplink, and a forwarded connection (a container\'s, a LAN client\'s) stays on the uplink it first left by when another one comes back.' },
  { key: 'rule_pref_pin', kind: 'int', default: '30200', doc: 'First priority of the pinning rules (`pin`), one priority per rule in the order of the `pin` list.' },
  { key: 'rule_pref_default', kind: 'int', default: '31000', doc: 'Base priority of the band, the `from all lookup TABLE` rules (unbound local and forwarded traffic); the interface order is added to it. The order must be rule_pref_from < rule_pref_oif < rule_pref_to < rule_pref_main < rule_pref_fwmark < rule_pref_pin < rule_pref_default, and the band (one rule per table of table_range) must end before main\'s rule at 32766.' },
  { key: 'pin', kind: 'pins', default: '', doc: 'Forwarded traffic pinned to uplinks: SOURCE:UPLINK[,UPLINK…][:strict], SOURCE an interface pattern (docker0, br-*) or a prefix (10.50.0.0/24), UPLINK interface patterns used in interface_priority order. With every pinned uplink down the traffic falls back to the band, or with `strict` stops. Example: `pin = docker0:wwan* 10.50.0.0/24:eth1:strict`.' },
  { key: 'fwmark_mask', kind: 'mask', default: '0x1f00', doc: 'Bits of the packet and connection mark we use (contiguous, hex) to send replies back by the uplink their connection came in on and to keep forwarded connections on their first uplink. The default stays clear of kube-proxy (0x4000, 0x8000), Podman (0x2000), Tailscale (0xff0000), Calico (0xffff0000) and the low byte operators use; on a Cilium host (0x0f00) choose e.g. 0x3000.' },
  { key: 'protocol', kind: 'int', default: '201', doc: 'Protocol number marking our rules and routes (see /etc/iproute2/rt_protos); only these are ever deleted.' },
  { key: 'interface_priority', kind: 'list', default: 'eth* eno* end* ens* enp* enP* enX* enc* env* wlan* wl* enx* ww* usb* *', doc: 'Interface name patterns in priority order for unbound traffic (first match wins; within one pattern, names sort naturally): wired, then Wi-Fi, then USB NICs and modems, which udev names after their MAC (enx…).' },
  { key: 'ignore_interfaces', kind: 'list', default: 'lo docker* podman* cni* veth* br-* virbr* vnet* lxcbr* lxdbr* incusbr* cali* flannel* cilium* kube-* tailscale* wg* tun* tap* zt*', doc: 'Interface name patterns never managed (container, VM and Kubernetes bridges and tunnels, VPNs).' },
  { key: 'dnsmasq_servers_file', kind: 'path', default: '/run/multihomed-routing/dnsmasq-servers.conf', doc: 'dnsmasq servers-file we write (`server=NS@IFACE`).' },
  { key: 'dnsmasq_pid_file', kind: 'path', default: '/run/dnsmasq/dnsmasq.pid', doc: 'pid file of the dnsmasq that reads the servers-file; it alone gets SIGHUP.' },
  { key: 'dnsmasq_mode', kind: 'auto-bool', default: 'auto', doc: 'Per-uplink DNS: each interface\'s DNS servers go to dnsmasq\'s servers-file (`server=NS@IFACE`) and dhclient-script does not rewrite resolv.conf. auto: only while the dnsmasq of dnsmasq_pid_file reads dnsmasq_servers_file, else resolv.conf is written as without this tool; yes: always; no: never.' },
  { key: 'loose_rp_filter', kind: 'bool', default: 'yes', doc: 'Set rp_filter=2 (loose) on managed interfaces and restore the old value afterwards.' },
  { key: 'watch_kernel', kind: 'bool', default: 'yes', doc: 'The daemon follows kernel address, link and route events: removes our rules and releases the lease of an address or interface that vanished without a hook, renews leases of present addresses, re-applies tables a link down/up flushed.' },
  { key: 'lease_reclaim_grace', kind: 'int', default: '120', doc: 'Seconds (at least 1) the watcher keeps a table lease whose address is not on its interface (an event that failed, a store from before a crash) before it releases it; a request for the lease starts the wait again, so a hook about to add its address keeps it.' },
  { key: 'manage_slaac', kind: 'bool', default: 'yes', doc: 'The watcher gives IPv6 SLAAC addresses (autoconfigured from router advertisements) on managed interfaces a table, with the RA default router mirrored into it.' },
  { key: 'adopt_addresses', kind: 'bool', default: 'yes', doc: 'The watcher adopts addresses no hook reported (NetworkManager\'s dhcp4-change, systemd-networkd, `ip addr add` by hand, links already up when the daemon starts): a global address on an up, non-ignored interface with carrier gets a table, with the default routes the kernel has for that interface in main as its gateways; main is left as it is.' },
  { key: 'adopt_grace_ms', kind: 'int', default: '2000', doc: 'Milliseconds a new address waits for a hook before the watcher adopts it (addresses present when the daemon starts are taken over at once).' },
  { key: 'health_check', kind: 'health', default: 'yes', doc: 'The daemon probes every managed address through its own uplink (source = the address) and ranks an uplink whose upstream stopped answering after the healthy ones in the unbound band; no: nothing is probed, the band keeps plain priority order.' },
  { key: 'health_targets', kind: 'health', default: '1.1.1.1 1.0.0.1 8.8.8.8 9.9.9.9 208.67.222.222 2606:4700:4700::1111 2001:4860:4860::8888', doc: 'Addresses probed, each address family through its own uplinks; a round probes the next ones in turn.' },
  { key: 'health_methods', kind: 'health', default: 'dns icmp', doc: 'Probe methods, tried in this order until one answers; a target then keeps the method that answered. dns (a query over UDP from the daemon itself; any reply counts), icmp (echo, through one ping(8) per probe: a process each time), tcp or tcp:PORT (a connect to port 443 or PORT; a refusal counts).' },
  { key: 'health_interval_ms', kind: 'health', default: '1000', doc: 'Milliseconds between probe rounds of one uplink (one probe packet per round while targets answer).' },
  { key: 'health_timeout_ms', kind: 'health', default: '1000', doc: 'Milliseconds a probe waits for its answer.' },
  { key: 'health_down', kind: 'health', default: '3', doc: 'Lost rounds in a row that make an uplink down (detection: at most interval × down + timeout).' },
  { key: 'health_up', kind: 'health', default: '4', doc: 'Answered rounds in a row that bring a down uplink back.' },
  { key: 'health_reliability', kind: 'health', default: '1', doc: 'Targets a round probes; all must answer for the round to count as answered.' },
  { key: 'health_override', kind: 'health', default: '', doc: 'Per-interface settings, PATTERN:key=value,… words (keys check, targets, methods, interval_ms, timeout_ms, down, up, reliability; list values joined by +), first matching pattern wins, e.g. wwan*:interval_ms=5000 for a metered modem (detection then takes up to 5 × down + timeout seconds).' },
  { key: 'events_dir', kind: 'path', default: '/etc/multihomed-routing/events.d', doc: 'Event scripts: the daemon runs every executable here (names of letters, digits, _ and - only, in name order) once per event, with the event in MHR_EVENT, MHR_IFACE, MHR_FAMILY, MHR_ADDRESS, MHR_TABLE, MHR_RANK, MHR_REASON, MHR_TIME (docs/events.md).' },
  { key: 'event_script_timeout_ms', kind: 'int', default: '10000', doc: 'Milliseconds (at least 1) an event script may run; then it is killed with every process it started, and the next script or event runs.' },
  { key: 'metrics_textfile', kind: 'path', default: '', doc: 'Prometheus metrics of the daemon (uplinks, health, failovers, leases, hooks), rewritten atomically after every event and every 15 s, as a file for node_exporter\'s textfile collector: a path ending in .prom in the directory given to its --collector.textfile.directory, e.g. /var/lib/prometheus/node-exporter/multihomed-routing.prom. Empty: off (docs/events.md).' },
  { key: 'syslog', kind: 'bool', default: 'yes', doc: 'Also log to syslog (facility daemon, tag multihomed-routing) through logger(1); not where standard error is already the journal (JOURNAL_STREAM).' },
];
