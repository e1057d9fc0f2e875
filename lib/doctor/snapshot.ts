// What `doctor` knows about the host: a typed snapshot, read once by read.ts
// and judged by the pure checks in checks/. Unit tests build snapshots by
// hand; the integration test reads a real one in a namespace.

import type { UplinkHealth } from '../health/view.js';
import type { KernelState } from '../state/types.js';

/** `ip route get PROBE from A`: where replies (and sockets bound to A) would leave. */
export interface ReplyRoute {
  /** The local address, canonical text. */
  address: string;
  /** The interface holding it. */
  ifname: string;
  probe: string;
  /** Probed with `oif IFNAME`: the address is on several interfaces, so only traffic bound to the device can tell them apart. */
  bound?: boolean;
  /** The device the kernel chose; undefined when it had no route (`error` says why). */
  dev?: string;
  gateway?: string;
  /**
   * The table the answer came from (`ip -d` names main too). None with a device and no gateway on a
   * bound probe: no table had a route for that device, and the kernel assumed the destination on-link.
   */
  table?: string;
  error?: string;
}

/** A file a host tool runs or reads (a hook, the udev rule). */
export interface HookFile {
  path: string;
  exists: boolean;
  executable: boolean;
  /** The executable it runs (parse.ts hookTarget: `mhr_exe='…'`, `exec …`, `RUN+="…"`), if found in it. */
  target?: string;
  targetExecutable?: boolean;
}

/** A running dnsmasq in this network namespace. */
export interface DnsmasqProcess {
  pid: number;
  argv: string[];
  /** Every `servers-file` it reads (command line, conf files, conf dirs). */
  serversFiles: string[];
  /** The configuration files it reads, in order. */
  confFiles: string[];
}

export interface HostSnapshot {
  /** Links, addresses, routes of every table, rules; both families. */
  kernel: KernelState;
  /** IPv4 rp_filter: `all` and per interface (raw sysctl text). */
  rpFilter: { all: string; byIface: Record<string, string> };
  replyRoutes: ReplyRoute[];
  daemon: {
    socketPath: string;
    answering: boolean;
    error?: string;
    /** The leases it holds (when answering). */
    leases?: { ifname: string; address: string; family: 4 | 6; table: number }[];
  };
  dnsmasq: {
    /** Processes named dnsmasq in our network namespace. */
    running: DnsmasqProcess[];
    /** The pid in config `dnsmasq_pid_file`, when it names a running process. */
    pidFromFile?: number;
  };
  /** Which host tools exist (what we should be hooked into). */
  tools: { ifupdown: boolean; dhclient: boolean; udev: boolean; networkManager: boolean };
  hooks: {
    ifUp: HookFile;
    ifPostDown: HookFile;
    dhclientEnter: HookFile;
    udevRule: HookFile;
    nmDispatcher: HookFile;
  };
  /**
   * The lease store cannot be written: as the daemon found it (its view),
   * or, without that, the store's directory refusing write access (EROFS).
   */
  storeProblem?: { path: string; error: string; seenBy: 'daemon' | 'doctor' };
  /** Interfaces systemd-networkd says it configures (`/run/systemd/netif/links`). */
  networkd: { ifname: string; networkFile?: string }[];
  /** A forwarding host's bridges (docs/forwarding.md); absent when not read. */
  forwarding?: {
    /** net.ipv4.ip_forward = 1. */
    ipForward: boolean;
    /** Bridges with an IPv4 address, not managed: where a packet from behind each would go (`ip route get PROBE from FROM iif IFNAME`). */
    sources: { ifname: string; prefix: string; from: string; probe: string; dev?: string; error?: string }[];
    /** `nft -j list ruleset`, when nft ran. */
    nftJson?: string;
  };
  /** The daemon's health probes (run_dir/health-view.json), when the daemon that wrote it runs. */
  health?: UplinkHealth[];
  /** Interfaces named in /etc/netplan/*.yaml, with the renderer and the file. */
  netplan: { ifname: string; renderer: string; file: string }[];
}
