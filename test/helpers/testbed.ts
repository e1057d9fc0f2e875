/**
 * The namespace test bed: a multihomed host, its edge routers and an
 * "internet", built from network namespaces, veth pairs, nftables and dnsmasq,
 * and removed again whatever happens.
 *
 *                 ┌─ router r0 ─┐
 *   host  eth0 ───┤ lan     wan ├─── r0 ┐
 *         wlan1 ──┤ lan     wan ├─── r1 ┤  internet: 198.51.100.1, 2001:db8:ffff::1 (on lo)
 *         ...     └─ router rN ─┘       ┘
 *
 * Names: every namespace and file is named `mhr-<short>-<pid>-…` (short: the
 * test file's short name, ≤ 12 chars of [a-z0-9]); `sweepStale(short)` runs
 * first and removes what a crashed earlier run of the same file left behind.
 *
 * The HOST namespace (`bed.host`):
 * - strict reverse-path filtering (net.ipv4.conf.{all,default}.rp_filter=1);
 * - one interface per router, named by the test (`hostIfname`: eth0, wlan1,
 *   wwan0 …; ≤ 15 bytes), optionally with a fixed MAC (`hostMac`);
 * - its own /etc: an overlay of /etc/netns/<host-ns>/ over the machine's /etc,
 *   so every file a test writes there (`host.writeEtc('network/interfaces',…)`,
 *   `dhcp/dhclient-enter-hooks.d/x`, `multihomed-routing/…`) appears in /etc for
 *   processes of the host, even where the machine has no such /etc entry, and
 *   everything they write to /etc (dhclient-script's resolv.conf) lands there
 *   too. The machine's own /etc is never written;
 * - its own /run and /var/lib/dhcp (empty per-test directories): ifupdown's
 *   state (/run/network), dhclient's pid and lease files, a daemon's socket
 *   under /run are private to the test; the rest of /var/lib is an overlay
 *   (a daemon's default lease store, /var/lib/multihomed-routing, lands in
 *   the test's directory, never in the machine's /var/lib). `host.path('/run/x')` gives the real
 *   path of a file of the host's view;
 * - all of this lives in one mount namespace held by a `sleep` process; run
 *   programs in it with `host.exec` / `host.spawn` (NOT plain `ip netns exec`,
 *   which would see the machine's /etc and /run).
 *
 * ROUTER namespaces (`bed.routers[i]`, from `RouterSpec`): interface `lan`
 * (peer of the host interface) and `wan` (towards the internet); IPv4 and IPv6
 * forwarding; rp_filter=1 (a packet whose source is not routed back through
 * `lan` is dropped) and, for IPv6 where there is no rp_filter, an nftables
 * rule dropping forwarded packets from `lan` whose source is outside the LAN
 * prefix; optional masquerade towards the internet (`nat`, default true; IPv4
 * and IPv6). Several routers may use the same subnet and router address: each
 * has its own L2 segment. dnsmasq runs as DHCP (`dhcp`), DHCPv6/RA (`dhcp6`)
 * and DNS (`dns`) server when asked, bound to `lan`, logging queries to
 * `router.dnsmasq.logFile`; `router.restartDnsmasq(changes)` /
 * `stopDnsmasq()` change or stop it mid-test.
 *
 * The INTERNET namespace (`bed.internet`): 198.51.100.1/32 and
 * 2001:db8:ffff::1/128 on lo, and the daemon's default health targets
 * (1.1.1.1 … 2001:4860:4860::8888, answering ping); router i is reached over `r<i>` (100.64.i.1/24,
 * 2001:db8:fffe:i::1/64 on the internet side, .2/::2 on the router's `wan`),
 * so traffic from the host reaches it only through a router, and
 * `bed.internet` can tell which router a packet came through (`r<i>`).
 * Routers without NAT get a route back to their LAN prefixes.
 *
 * Usage:
 *
 *   let bed: TestBed;
 *   beforeAll(async () => {
 *     bed = await createTestBed({
 *       name: 'dhcp',
 *       routers: [
 *         { hostIfname: 'eth0', ipv4: { subnet: '192.168.1.0/24', address: '192.168.1.1' },
 *           dhcp: { range: ['192.168.1.100', '192.168.1.150'], leaseTime: '2m' },
 *           dns: { records: { 'which.test': ['192.0.2.1'] } } },
 *         { hostIfname: 'wlan1', ipv4: { subnet: '192.168.1.0/24', address: '192.168.1.1' } },
 *       ],
 *     });
 *   });
 *   afterAll(() => bed?.destroy());
 *
 *   await bed.host.writeEtc('dhcp/dhclient-enter-hooks.d/multihomed-routing', shim, 0o644);
 *   const dh = await bed.host.dhclient('eth0');            // real dhclient + /sbin/dhclient-script
 *   const [a] = await bed.host.addresses('eth0', 4);       // `ip -json addr`
 *   expect(await bed.host.ping(bed.internet.address4, { from: a.local })).toBe(true);
 *   expect(bed.routers[0].dnsmasq.queries()).toContainEqual(...);
 *   await dh.release();                                    // dhclient -r
 *
 * `createTestBed` cleans up after itself when set-up fails; `destroy()` is
 * idempotent and also runs on process exit, SIGINT, SIGTERM and SIGHUP.
 * `bed.resources()` lists what exists, for asserting that teardown left nothing.
 */

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import tmp from 'tmp';
import {
  NETNS_ETC,
  destroyResources,
  isAlive,
  onInterrupt,
  readPidFile,
  sleepSync,
  sweepStale,
  type Resources,
} from './cleanup.js';
import {
  dnsmasqArgv,
  parseQueryLog,
  type Dhcp6Options,
  type DhcpOptions,
  type DnsOptions,
  type LoggedQuery,
} from './dnsmasq.js';
import { edgeRuleset } from '../../lib/sandbox/edge.js';

export type { DhcpOptions, Dhcp6Options, DnsOptions, LoggedQuery };

/** The internet's addresses: reachable from the host only through a router. */
export const INTERNET_ADDRESS4 = '198.51.100.1';
/** The default health_targets, held by the internet namespace too. */
export const HEALTH_TARGETS = ['1.1.1.1', '1.0.0.1', '8.8.8.8', '9.9.9.9', '208.67.222.222', '2606:4700:4700::1111', '2001:4860:4860::8888'];
export const INTERNET_ADDRESS6 = '2001:db8:ffff::1';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DNS_QUERY_SCRIPT = path.join(import.meta.dirname, 'dns-query.mjs');

export interface RouterSpec {
  /** Name of the host's interface towards this router (≤ 15 bytes). */
  hostIfname: string;
  /** MAC address of the host interface (for dhcp-host pinning). */
  hostMac?: string;
  /** The router's LAN: subnet and its own address in it. */
  ipv4?: { subnet: string; address: string };
  ipv6?: { subnet: string; address: string };
  /** Masquerade towards the internet (IPv4 and IPv6). Default true. */
  nat?: boolean;
  /** Drop forwarded IPv6 whose source is outside the LAN prefix. Default true. */
  sourceFilter6?: boolean;
  /** Extra addresses on the router's lo (CIDR), reachable only through this router. */
  extraAddresses?: string[];
  dhcp?: DhcpOptions;
  dhcp6?: Dhcp6Options;
  dns?: DnsOptions;
  /** Extra dnsmasq arguments, verbatim. */
  dnsmasqArgs?: string[];
}

export interface TestBedSpec {
  /** Short name of the test file: [a-z0-9]{1,12}. */
  name: string;
  routers: RouterSpec[];
  /** Keep IPv6 duplicate address detection (default off: addresses usable at once). */
  dad?: boolean;
  /** Files for the host's /etc (path relative to /etc → content), written before anything runs. */
  hostEtc?: Record<string, string>;
  /**
   * More directories of the machine the host sees through a private overlay,
   * like /etc (e.g. '/usr/local', '/var/log' for running install.sh for real):
   * what the host's processes write there lands in the bed's temp dir;
   * `host.path()` maps them too.
   */
  hostOverlays?: string[];
  /**
   * More plain namespaces (a container, a LAN client behind the host), named
   * `<prefix>-<name>` ([a-z0-9]{1,8}), lo up, nothing else: the test wires them
   * (`ip link add … netns host.name`); removed with the bed.
   */
  extraNamespaces?: string[];
}

export interface ExecOptions {
  /** Throw on a non-zero exit (default true). */
  reject?: boolean;
  input?: string;
  /** Extra environment; the base is PATH and LANG=C only, like a hook's. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  command: string;
}

/** `ip -json addr` entry (the fields tests use). */
export interface IpAddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope?: string;
  dynamic?: boolean;
  noprefixroute?: boolean;
  label?: string;
  valid_life_time?: number;
  /** IPv6: duplicate address detection still running. */
  tentative?: boolean;
  [key: string]: unknown;
}

export interface IpLink {
  ifindex: number;
  ifname: string;
  address?: string;
  operstate?: string;
  flags?: string[];
  addr_info?: IpAddrInfo[];
  [key: string]: unknown;
}

/** `ip -json route` entry. */
export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  table?: string;
  flags?: string[];
  [key: string]: unknown;
}

/** `ip -json rule` entry. */
export interface IpRule {
  priority: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  iif?: string;
  oif?: string;
  table: string;
  protocol?: string;
  [key: string]: unknown;
}

/** A process started with `spawn`: killed at teardown if still running. */
export interface SpawnedProcess {
  pid: number;
  /** Where its stdout and stderr go (kept until the bed is destroyed). */
  logFile: string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Common to every namespace of the bed. */
export abstract class Netns {
  constructor(
    readonly name: string,
    protected readonly res: Resources,
    protected readonly dir: string,
  ) {}

  /** The argv prefix that runs a program inside this namespace. */
  abstract wrap(argv: readonly string[]): string[];

  /** Runs argv inside the namespace (no shell). */
  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [file, ...args] = this.wrap(argv);
    const r = await execa(file!, args, {
      reject: false,
      input: opts.input,
      env: { PATH, LANG: 'C', ...opts.env },
      extendEnv: false,
      timeout: opts.timeoutMs ?? 60_000,
      stripFinalNewline: false,
    });
    const result: ExecResult = {
      exitCode: r.exitCode ?? -1,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      command: `[${this.name}] ${argv.join(' ')}`,
    };
    if ((opts.reject ?? true) && (result.exitCode !== 0 || r.timedOut)) {
      throw new Error(
        `${result.command} failed (exit ${result.exitCode}${r.timedOut ? ', timed out' : ''}):\n${result.stderr}${result.stdout}`,
      );
    }
    return result;
  }

  /** Starts a long-running program in the namespace; output goes to files in the bed's temp dir. */
  spawn(argv: readonly string[], opts: { env?: Record<string, string>; logName?: string } = {}): SpawnedProcess {
    const [file, ...args] = this.wrap(argv);
    const log = path.join(this.dir, `${opts.logName ?? path.basename(argv[0]!)}.out`);
    const fd = fs.openSync(log, 'a');
    const child = spawn(file!, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { PATH, LANG: 'C', ...opts.env },
    });
    fs.closeSync(fd);
    if (!child.pid) throw new Error(`could not start ${argv.join(' ')}`);
    const pid = child.pid;
    this.res.pids.add(pid);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.unref();
    return {
      pid,
      logFile: log,
      exited,
      kill: (signal = 'SIGTERM') => {
        try {
          process.kill(pid, signal);
        } catch {
          // gone
        }
      },
    };
  }

  /** `ip -json ARGS` parsed. */
  async ipJson<T = unknown>(args: readonly string[]): Promise<T> {
    const r = await this.exec(['ip', '-json', ...args]);
    return (r.stdout.trim() ? JSON.parse(r.stdout) : []) as T;
  }

  /** Addresses of one interface (or all), optionally one family. */
  async addresses(ifname?: string, family?: 4 | 6): Promise<IpAddrInfo[]> {
    const links = await this.ipJson<IpLink[]>([
      ...(family ? [`-${family}`] : []),
      'addr',
      'show',
      ...(ifname ? ['dev', ifname] : []),
    ]);
    return links.flatMap((l) => l.addr_info ?? []);
  }

  /** Links with their addresses (`ip -json addr show`). */
  async links(): Promise<IpLink[]> {
    return this.ipJson<IpLink[]>(['addr', 'show']);
  }

  /** Routes of one table (default main). */
  async routes(table: string | number = 'main', family: 4 | 6 = 4): Promise<IpRoute[]> {
    return this.ipJson<IpRoute[]>([`-${family}`, 'route', 'show', 'table', String(table)]);
  }

  /** Policy rules of a family. */
  async rules(family: 4 | 6 = 4): Promise<IpRule[]> {
    return this.ipJson<IpRule[]>([`-${family}`, 'rule', 'show']);
  }

  /** `ip route get` as the kernel answers it. */
  async routeGet(to: string, opts: { from?: string; oif?: string; mark?: number } = {}): Promise<IpRoute> {
    const args = ['route', 'get', to];
    if (opts.from) args.push('from', opts.from);
    if (opts.oif) args.push('oif', opts.oif);
    if (opts.mark !== undefined) args.push('mark', String(opts.mark));
    const [route] = await this.ipJson<IpRoute[]>(args);
    if (!route) throw new Error(`ip route get ${to}: no answer`);
    return route;
  }

  /** Reads a sysctl of this namespace (e.g. 'net.ipv4.conf.all.rp_filter'). */
  async sysctl(key: string): Promise<string> {
    return (await this.exec(['sysctl', '-n', key])).stdout.trim();
  }

  /** Sets sysctls of this namespace. */
  async setSysctl(values: Record<string, string | number>): Promise<void> {
    const pairs = Object.entries(values).map(([k, v]) => `${k}=${v}`);
    if (pairs.length) await this.exec(['sysctl', '-q', '-w', ...pairs]);
  }

  /**
   * The namespace's kernel counters from /proc/net/netstat and /proc/net/snmp,
   * as 'TcpExt.IPReversePathFilter', 'Ip.ForwDatagrams', … .
   */
  async netstat(): Promise<Record<string, number>> {
    const text = (await this.exec(['cat', '/proc/net/netstat', '/proc/net/snmp'])).stdout;
    const out: Record<string, number> = {};
    const lines = text.split('\n');
    for (let i = 0; i + 1 < lines.length; i++) {
      const [group, ...names] = lines[i]!.trim().split(/\s+/);
      const [group2, ...values] = lines[i + 1]!.trim().split(/\s+/);
      if (!group?.endsWith(':') || group !== group2 || !/^-?\d/.test(values[0] ?? '')) continue;
      names.forEach((name, k) => (out[`${group.slice(0, -1)}.${name}`] = Number(values[k])));
      i++;
    }
    return out;
  }

  /** One ping (or count); true when a reply came. `from` is an address or a device (`ping -I`). */
  async ping(to: string, opts: { from?: string; count?: number; timeoutS?: number } = {}): Promise<boolean> {
    const argv = ['ping', '-n', '-q', '-c', String(opts.count ?? 1), '-W', String(opts.timeoutS ?? 2)];
    if (opts.from) argv.push('-I', opts.from);
    argv.push(to);
    return (await this.exec(argv, { reject: false })).exitCode === 0;
  }

  /** Asks `server` for `name`; the answers, or [] when there was no answer. */
  async dnsQuery(server: string, name: string, opts: { type?: 'A' | 'AAAA'; from?: string } = {}): Promise<string[]> {
    const argv = [process.execPath, DNS_QUERY_SCRIPT, server, name, opts.type ?? 'A'];
    if (opts.from) argv.push(opts.from);
    const r = await this.exec(argv, { reject: false });
    return r.exitCode === 0 ? (JSON.parse(r.stdout) as string[]) : [];
  }
}

/** A namespace entered with plain `ip netns exec` (routers, internet). */
export class PlainNetns extends Netns {
  wrap(argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...argv];
  }
}

/** Options of `host.dhclient`. */
export interface DhclientOptions {
  family?: 4 | 6;
  /** Extra variables for dhclient-script (`-e VAR=value`). */
  env?: Record<string, string>;
  /** Wait for the first lease before returning (default true); false = `-nw`. */
  wait?: boolean;
  extraArgs?: string[];
}

/** A dhclient running in the host, with the pid and lease files it was started with. */
export interface Dhclient {
  ifname: string;
  family: 4 | 6;
  /** Paths as the host sees them (/run/…, /var/lib/dhcp/…). */
  pidFile: string;
  leaseFile: string;
  /** The same files' real paths on the machine. */
  realPidFile: string;
  realLeaseFile: string;
  /** What the foreground dhclient printed while getting its first lease (hook messages included). */
  started: ExecResult;
  pid(): number | undefined;
  /** `dhclient -r`: RELEASE (RELEASE6), then the client exits. */
  release(): Promise<ExecResult>;
  /** `dhclient -x`: STOP (STOP6) without releasing. */
  stop(): Promise<ExecResult>;
  /** SIGKILL: the client dies without running dhclient-script. */
  kill(): void;
}

/** The multihomed host: its own /etc overlay, /run and /var/lib/dhcp. */
export class HostNetns extends Netns {
  /** Pid of the process holding the host's mount namespace. */
  holderPid = 0;
  /** Upper layer of the host's /etc overlay: /etc/netns/NAME. */
  readonly etcDir: string;
  private readonly private: Record<string, string>;

  /** Overlaid directory → its upper layer (writes of the host land there). */
  private readonly overlays: Record<string, string> = {};

  constructor(name: string, res: Resources, dir: string, overlays: readonly string[] = []) {
    super(name, res, dir);
    this.etcDir = path.join(NETNS_ETC, name);
    this.private = { '/run': path.join(dir, 'run'), '/var/lib/dhcp': path.join(dir, 'var-lib-dhcp') };
    // /var/lib always: a daemon's default lease store must not reach the machine.
    // Parents first, so an overlay of /var/lib sits on an overlaid /var.
    const wanted = [...new Set([...overlays.map((o) => path.normalize(o)), '/var/lib'])].sort((a, b) => a.length - b.length);
    for (const o of wanted) {
      const p = path.normalize(o);
      if (!path.isAbsolute(p) || p === '/' || ['/etc', '/run', '/var/lib/dhcp', '/proc', '/sys', '/dev'].some((x) => p === x || p.startsWith(`${x}/`))) {
        throw new Error(`hostOverlays: cannot overlay ${o}`);
      }
      if (!/^[A-Za-z0-9_./-]+$/.test(p)) throw new Error(`hostOverlays: plain path characters only: ${o}`);
      this.overlays[p] = path.join(dir, `overlay${p.replace(/\//g, '-')}`, 'upper');
    }
  }

  wrap(argv: readonly string[]): string[] {
    if (!this.holderPid) throw new Error(`host namespace ${this.name} is not ready`);
    return ['nsenter', `--target=${this.holderPid}`, '--mount', '--net', '--', ...argv];
  }

  /** The real path of a file as the host sees it (/etc/…, /run/…, /var/lib/dhcp/…). */
  path(viewPath: string): string {
    if (!path.isAbsolute(viewPath)) throw new Error(`host.path wants an absolute path, got ${viewPath}`);
    const p = path.normalize(viewPath);
    if (p === '/etc' || p.startsWith('/etc/')) return path.join(this.etcDir, p.slice('/etc'.length));
    // The deepest mount wins (/var/lib/dhcp over /var/lib over /var).
    const mounts = Object.entries({ ...this.overlays, ...this.private }).sort(([a], [b]) => b.length - a.length);
    for (const [mount, real] of mounts) {
      if (p === mount || p.startsWith(`${mount}/`)) return path.join(real, p.slice(mount.length));
    }
    return p;
  }

  /** Writes a file of the host's /etc (path relative to /etc), creating directories. */
  async writeEtc(rel: string, content: string, mode = 0o644): Promise<string> {
    const file = this.path(path.posix.join('/etc', rel));
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await fs.promises.writeFile(file, content, { mode });
    await fs.promises.chmod(file, mode);
    return file;
  }

  /** Reads a file of the host's view (falls back to the machine's file under the overlay). */
  async readFile(viewPath: string): Promise<string> {
    try {
      return await fs.promises.readFile(this.path(viewPath), 'utf8');
    } catch (err) {
      if (viewPath.startsWith('/etc/')) return fs.promises.readFile(viewPath, 'utf8');
      throw err;
    }
  }

  /** Real `ifup` (state in the host's private /run/network). */
  async ifup(iface: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(['ifup', iface], opts);
  }

  async ifdown(iface: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(['ifdown', iface], opts);
  }

  /**
   * Starts real dhclient on an interface, with the pid and lease file paths
   * ifupdown would use (/run/dhclient[6].IF.pid, /var/lib/dhcp/dhclient[6].IF.leases,
   * both private to this host), running the real /sbin/dhclient-script.
   */
  async dhclient(ifname: string, opts: DhclientOptions = {}): Promise<Dhclient> {
    const family = opts.family ?? 4;
    const tag = family === 6 ? 'dhclient6' : 'dhclient';
    const pidFile = `/run/${tag}.${ifname}.pid`;
    const leaseFile = `/var/lib/dhcp/${tag}.${ifname}.leases`;
    const realPidFile = this.path(pidFile);
    this.res.pidFiles.push(realPidFile);
    const common = [`-${family}`, '-pf', pidFile, '-lf', leaseFile];
    const envArgs = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const started = await this.exec(
      ['dhclient', ...common, '-v', ...(opts.wait === false ? ['-nw'] : []), ...envArgs, ...(opts.extraArgs ?? []), ifname],
      { timeoutMs: 90_000 },
    );
    // The foreground dhclient returns when its forked child has the lease; the child writes the pid file.
    await waitFor(`${pidFile} of dhclient on ${ifname}`, () => readPidFile(realPidFile), 5000, 20);
    return {
      ifname,
      family,
      pidFile,
      leaseFile,
      realPidFile,
      realLeaseFile: this.path(leaseFile),
      started,
      pid: () => readPidFile(realPidFile),
      release: () => this.exec(['dhclient', ...common, ...envArgs, '-r', ifname]),
      stop: () => this.exec(['dhclient', ...common, ...envArgs, '-x', ifname]),
      kill: () => {
        const pid = readPidFile(realPidFile);
        if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
      },
    };
  }

  /** Starts the process that holds the host's mount namespace (/etc overlay, private /run). */
  start(): void {
    const work = path.join(NETNS_ETC, `.${this.name}.work`);
    this.res.dirs.push(this.etcDir, work);
    const overlayWork = Object.fromEntries(Object.entries(this.overlays).map(([m, upper]) => [m, path.join(path.dirname(upper), 'work')]));
    for (const d of [this.etcDir, work, ...Object.values(this.private), ...Object.values(this.overlays), ...Object.values(overlayWork)]) {
      fs.mkdirSync(d, { recursive: true, mode: 0o755 });
    }
    const mounts = [
      `mount -t overlay mhr-etc -o lowerdir=/etc,upperdir=${this.etcDir},workdir=${work} /etc`,
      // Overlays before the private binds: an overlay of /var/lib keeps the private /var/lib/dhcp.
      ...Object.entries(this.overlays).map(([mount, upper]) => `mount -t overlay mhr-ovl -o lowerdir=${mount},upperdir=${upper},workdir=${overlayWork[mount]} ${mount}`),
      ...Object.entries(this.private).map(([mount, real]) => `mount --bind ${real} ${mount}`),
      'exec sleep infinity',
    ].join(' && ');
    const log = path.join(this.dir, 'holder.out');
    const fd = fs.openSync(log, 'a');
    const child = spawn('ip', ['netns', 'exec', this.name, 'sh', '-ec', mounts], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { PATH },
    });
    fs.closeSync(fd);
    child.unref();
    if (!child.pid) throw new Error('could not start the host namespace holder');
    this.res.pids.add(child.pid);
    // `ip netns exec` and `sh -c … exec` keep the pid: it is ready when it is `sleep`.
    for (let waited = 0; waited < 5000; waited += 20) {
      let comm = '';
      try {
        comm = fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim();
      } catch {
        // not yet, or gone
      }
      if (comm === 'sleep') {
        this.holderPid = child.pid;
        return;
      }
      if (!isAlive(child.pid)) break;
      sleepSync(20);
    }
    throw new Error(`host namespace holder did not start: ${fs.readFileSync(log, 'utf8')}`);
  }
}

/** What a router's dnsmasq was started with, and its files. */
export interface DnsmasqHandle {
  argv: string[];
  pidFile: string;
  logFile: string;
  leaseFile: string;
  pid(): number | undefined;
  /** The whole log (queries, DHCP). */
  log(): string;
  /** DNS queries logged so far. */
  queries(): LoggedQuery[];
}

/** One edge router. */
export class Router extends PlainNetns {
  dnsmasq: DnsmasqHandle | undefined;
  private dnsmasqStarts = 0;
  readonly wanAddress4: string;
  readonly wanAddress6: string;
  /** The internet namespace's interface towards this router. */
  readonly internetIfname: string;
  readonly lanIfname = 'lan';
  readonly wanIfname = 'wan';

  constructor(
    name: string,
    res: Resources,
    dir: string,
    readonly index: number,
    public spec: RouterSpec,
  ) {
    super(name, res, dir);
    this.wanAddress4 = `100.64.${index}.2`;
    this.wanAddress6 = `2001:db8:fffe:${index}::2`;
    this.internetIfname = `r${index}`;
  }

  get hostIfname(): string {
    return this.spec.hostIfname;
  }

  /** Starts dnsmasq with the spec's dhcp/dhcp6/dns options (no-op when none). */
  async startDnsmasq(): Promise<void> {
    const { dhcp, dhcp6, dns, dnsmasqArgs } = this.spec;
    if (!dhcp && !dhcp6 && !dns && !dnsmasqArgs) return;
    const n = (this.dnsmasqStarts += 1);
    const files = {
      pidFile: path.join(this.dir, `dnsmasq.${n}.pid`),
      logFile: path.join(this.dir, 'dnsmasq.log'),
      leaseFile: path.join(this.dir, 'dnsmasq.leases'),
    };
    this.res.pidFiles.push(files.pidFile);
    const argv = dnsmasqArgv({
      lanIfname: this.lanIfname,
      address4: this.spec.ipv4?.address,
      address6: this.spec.ipv6?.address,
      dhcp,
      dhcp6,
      dns,
      extraArgs: dnsmasqArgs,
      ...files,
    });
    const proc = this.spawn(argv, { logName: 'dnsmasq' });
    for (let waited = 0; ; waited += 25) {
      const pid = readPidFile(files.pidFile);
      if (pid && isAlive(pid)) break;
      if (!isAlive(proc.pid) || waited > 5000) {
        throw new Error(`dnsmasq in ${this.name} did not start: ${readIfExists(path.join(this.dir, 'dnsmasq.out'))}`);
      }
      await delay(25);
    }
    this.dnsmasq = {
      argv,
      ...files,
      pid: () => readPidFile(files.pidFile),
      log: () => readIfExists(files.logFile),
      queries: () => parseQueryLog(readIfExists(files.logFile)),
    };
  }

  /** Stops dnsmasq (SIGTERM, waits until it is gone). */
  async stopDnsmasq(): Promise<void> {
    const pid = this.dnsmasq?.pid();
    if (!pid) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let waited = 0; isAlive(pid) && waited < 3000; waited += 25) await delay(25);
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }

  /** Restarts dnsmasq with changed options (e.g. another dhcp-host binding); leases and log are kept. */
  async restartDnsmasq(changes: Partial<Pick<RouterSpec, 'dhcp' | 'dhcp6' | 'dns' | 'dnsmasqArgs'>> = {}): Promise<void> {
    await this.stopDnsmasq();
    this.spec = { ...this.spec, ...changes };
    await this.startDnsmasq();
  }

  /** Takes the router's LAN link down or up (the host side keeps its carrier state in sync: veth). */
  async setLan(up: boolean): Promise<void> {
    await this.exec(['ip', 'link', 'set', this.lanIfname, up ? 'up' : 'down']);
  }
}

/** The internet namespace. */
export class Internet extends PlainNetns {
  readonly address4 = INTERNET_ADDRESS4;
  readonly address6 = INTERNET_ADDRESS6;
}

export interface TestBed {
  prefix: string;
  host: HostNetns;
  routers: Router[];
  internet: Internet;
  /** The spec's extraNamespaces, by name. */
  extra: Record<string, PlainNetns>;
  /** Temp dir of the bed (logs of every process, dnsmasq files). */
  dir: string;
  /** Everything this bed created or started (for assertions after destroy). */
  resources(): { namespaces: string[]; dirs: string[]; pids: number[] };
  /** Removes everything; idempotent; safe after a partial set-up. */
  destroy(): void;
}

/** Builds the bed; on any failure it removes what it had built and rethrows. */
export async function createTestBed(spec: TestBedSpec): Promise<TestBed> {
  if (!/^[a-z0-9]{1,12}$/.test(spec.name)) throw new Error(`test bed name must be [a-z0-9]{1,12}, got ${spec.name}`);
  if (process.getuid?.() !== 0) throw new Error('the test bed needs root (network namespaces)');
  for (const r of spec.routers) {
    if (Buffer.byteLength(r.hostIfname) > 15 || !r.hostIfname) throw new Error(`interface name too long or empty: ${r.hostIfname}`);
  }
  if (new Set(spec.routers.map((r) => r.hostIfname)).size !== spec.routers.length) {
    throw new Error('each router needs its own hostIfname');
  }
  sweepStale(spec.name);

  const prefix = `mhr-${spec.name}-${process.pid}`;
  const res: Resources = { prefix, namespaces: [], dirs: [], pidFiles: [], pids: new Set() };
  // Namespace names must be unique per process too, should a file build two beds.
  const seq = (bedCount += 1);
  const nsBase = seq === 1 ? prefix : `${prefix}-${seq}`;
  let destroyed = false;
  const allPids = new Set<number>();
  const destroy = (urgent = false) => {
    if (destroyed) return;
    for (const f of res.pidFiles) {
      const pid = readPidFile(f);
      if (pid) allPids.add(pid);
    }
    for (const p of res.pids) allPids.add(p);
    destroyResources(res, urgent);
    destroyed = true;
    unregister();
  };
  const unregister = onInterrupt(destroy);

  try {
    const dir = tmp.dirSync({ prefix: `${nsBase}-`, mode: 0o700 }).name;
    res.dirs.push(dir);
    const sub = (name: string) => {
      const d = path.join(dir, name);
      fs.mkdirSync(d, { recursive: true });
      return d;
    };

    const host = new HostNetns(`${nsBase}-h`, res, sub('host'), spec.hostOverlays);
    const internet = new Internet(`${nsBase}-i`, res, sub('internet'));
    const routers = spec.routers.map((r, i) => new Router(`${nsBase}-r${i}`, res, sub(`r${i}`), i, r));
    for (const name of spec.extraNamespaces ?? []) if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`extra namespace name must be [a-z0-9]{1,8}, got ${name}`);
    const extra = Object.fromEntries((spec.extraNamespaces ?? []).map((n) => [n, new PlainNetns(`${nsBase}-${n}`, res, sub(n))]));
    const dadOff: Record<string, number> = spec.dad
      ? {}
      : { 'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0 };

    for (const ns of [host, internet, ...routers, ...Object.values(extra)]) {
      res.namespaces.push(ns.name);
      await execa('ip', ['netns', 'add', ns.name]);
    }
    // The holder first: host.exec enters its mount namespace.
    host.start();
    await host.setSysctl({
      ...dadOff,
      'net.ipv4.conf.all.rp_filter': 1,
      'net.ipv4.conf.default.rp_filter': 1,
    });
    // A router keeps its IPv6 addresses while its LAN link is down (setLan), as real ones do.
    const keepAddr = { 'net.ipv6.conf.all.keep_addr_on_down': 1, 'net.ipv6.conf.default.keep_addr_on_down': 1 };
    await internet.setSysctl({ ...dadOff, ...keepAddr });
    for (const r of routers) {
      await r.setSysctl({
        ...dadOff,
        ...keepAddr,
        'net.ipv4.ip_forward': 1,
        'net.ipv6.conf.all.forwarding': 1,
        'net.ipv4.conf.all.rp_filter': 1,
        'net.ipv4.conf.default.rp_filter': 1,
      });
    }

    // Host /etc defaults.
    await host.writeEtc('resolv.conf', '# test bed host: written by dhclient-script or the test\n');
    await host.writeEtc('dhcp/dhclient.conf', DHCLIENT_CONF);
    for (const [rel, content] of Object.entries(spec.hostEtc ?? {})) await host.writeEtc(rel, content);

    await internet.exec(['ip', 'link', 'set', 'lo', 'up']);
    await internet.exec(['ip', 'addr', 'add', `${INTERNET_ADDRESS4}/32`, 'dev', 'lo']);
    await internet.exec(['ip', 'addr', 'add', `${INTERNET_ADDRESS6}/128`, 'dev', 'lo']);
    // The daemon's default health targets answer (ICMP) here, as on the real internet.
    for (const t of HEALTH_TARGETS) await internet.exec(['ip', 'addr', 'add', `${t}/${t.includes(':') ? 128 : 32}`, 'dev', 'lo']);
    await host.exec(['ip', 'link', 'set', 'lo', 'up']);
    for (const ns of Object.values(extra)) await ns.exec(['ip', 'link', 'set', 'lo', 'up']);

    for (const r of routers) await setUpRouter(r, host, internet);
    for (const r of routers) await r.startDnsmasq();

    return {
      prefix: nsBase,
      host,
      routers,
      internet,
      extra,
      dir,
      resources: () => ({
        namespaces: [...res.namespaces],
        dirs: [...res.dirs],
        pids: [...new Set([...allPids, ...res.pids, ...res.pidFiles.map(readPidFile).filter((p): p is number => !!p)])],
      }),
      destroy: () => destroy(),
    };
  } catch (err) {
    try {
      destroy();
    } catch (teardownErr) {
      throw new AggregateError([err, teardownErr], `test bed set-up failed, and so did its teardown`);
    }
    throw err;
  }
}

let bedCount = 0;

async function setUpRouter(r: Router, host: HostNetns, internet: Internet): Promise<void> {
  const s = r.spec;
  const i = r.index;
  // Router LAN ↔ host side: created inside the router namespace, peer straight into the host's
  // (never in the machine's own namespace). From the router: the host's view hides /run/netns.
  await r.exec([
    'ip', 'link', 'add', r.lanIfname, 'type', 'veth', 'peer', 'name', s.hostIfname,
    ...(s.hostMac ? ['address', s.hostMac] : []),
    'netns', host.name,
  ]);
  await internet.exec(['ip', 'link', 'add', r.internetIfname, 'type', 'veth', 'peer', 'name', r.wanIfname, 'netns', r.name]);

  await r.setSysctl({ [`net.ipv4.conf.${r.lanIfname}.rp_filter`]: 1 });
  await r.exec(['ip', 'link', 'set', 'lo', 'up']);
  if (s.ipv4) await r.exec(['ip', 'addr', 'add', `${s.ipv4.address}/${prefixLength(s.ipv4.subnet)}`, 'dev', r.lanIfname]);
  if (s.ipv6) await r.exec(['ip', 'addr', 'add', `${s.ipv6.address}/${prefixLength(s.ipv6.subnet)}`, 'dev', r.lanIfname]);
  for (const a of s.extraAddresses ?? []) await r.exec(['ip', 'addr', 'add', a, 'dev', 'lo']);
  await r.exec(['ip', 'addr', 'add', `${r.wanAddress4}/24`, 'dev', r.wanIfname]);
  await r.exec(['ip', 'addr', 'add', `${r.wanAddress6}/64`, 'dev', r.wanIfname]);
  await internet.exec(['ip', 'addr', 'add', `100.64.${i}.1/24`, 'dev', r.internetIfname]);
  await internet.exec(['ip', 'addr', 'add', `2001:db8:fffe:${i}::1/64`, 'dev', r.internetIfname]);
  for (const [ns, dev] of [[r, r.lanIfname], [r, r.wanIfname], [internet, r.internetIfname], [host, s.hostIfname]] as const) {
    await ns.exec(['ip', 'link', 'set', dev, 'up']);
  }
  await r.exec(['ip', 'route', 'add', 'default', 'via', `100.64.${i}.1`]);
  await r.exec(['ip', '-6', 'route', 'add', 'default', 'via', `2001:db8:fffe:${i}::1`]);

  const nat = s.nat ?? true;
  if (!nat) {
    if (s.ipv4) await internet.exec(['ip', 'route', 'add', s.ipv4.subnet, 'via', r.wanAddress4]);
    if (s.ipv6) await internet.exec(['ip', '-6', 'route', 'add', s.ipv6.subnet, 'via', r.wanAddress6]);
  }
  await r.exec(['nft', '-f', '-'], { input: routerRuleset(r, nat) });
}

/** The router's nftables: IPv6 source filter on forwarded LAN traffic, and NAT. */
export function routerRuleset(r: Pick<Router, 'lanIfname' | 'wanIfname' | 'spec'>, nat: boolean): string {
  const filter = r.spec.sourceFilter6 ?? true;
  return edgeRuleset({ lan: r.lanIfname, wan: r.wanIfname, nat, sourceFilter6: filter ? { subnet6: r.spec.ipv6?.subnet } : undefined });
}

/** Debian's dhclient.conf, with a shorter timeout so a test without a server fails fast. */
const DHCLIENT_CONF = `# test bed: Debian's defaults, timeout shortened
option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
request subnet-mask, broadcast-address, time-offset, routers,
	domain-name, domain-name-servers, domain-search, host-name,
	dhcp6.name-servers, dhcp6.domain-search, dhcp6.fqdn, dhcp6.sntp-servers,
	netbios-name-servers, netbios-scope, interface-mtu,
	rfc3442-classless-static-routes, ntp-servers;
timeout 20;
retry 10;
`;

function prefixLength(cidr: string): string {
  const len = cidr.split('/')[1];
  if (!len) throw new Error(`subnet needs a prefix length: ${cidr}`);
  return len;
}

function readIfExists(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value or timeoutMs passes (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 10_000, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await delay(stepMs);
  }
}
