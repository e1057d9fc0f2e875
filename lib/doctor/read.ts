// Reads the live host into a HostSnapshot: kernel state (ip -json), route
// lookups for replies, sysctls, the allocator socket, running dnsmasq
// processes of this network namespace, hook files and other network
// managers' state. The only part of doctor that touches the system.

import { accessSync, constants, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { listLeases } from '../allocator/client.js';
import type { Config } from '../config/schema.js';
import { run as defaultRun, type Runner } from '../exec/run.js';
import { ipFromValue } from '../net/address.js';
import { indexState } from '../plan/index.js';
import { readHealthView, type UplinkHealth } from '../health/view.js';
import { readState } from '../state/read.js';
import type { KernelState } from '../state/types.js';
import { readView } from '../watch/view.js';
import { candidateAddresses } from './candidates.js';
import { dnsmasqReads } from '../dns/dnsmasq-conf.js';
import { parseCmdline, realConfFs } from '../dns/mode.js';
import { hookTarget, parseNetplan, parseNetworkdLink } from './parse.js';
import type { DnsmasqProcess, HookFile, HostSnapshot, ReplyRoute } from './snapshot.js';
import { isRunning } from '../proc/alive.js';

/** Where the replies are probed towards: any internet address (a lookup, nothing is sent). */
export const DEFAULT_PROBES = { 4: '8.8.8.8', 6: '2001:4860:4860::8888' } as const;

/** Where install.sh puts the hooks (and where Debian puts 01-ifupdown). */
export const HOOK_PATHS: Readonly<Record<keyof HostSnapshot['hooks'], string>> = {
  ifUp: '/etc/network/if-up.d/multihomed-routing',
  ifPostDown: '/etc/network/if-post-down.d/multihomed-routing',
  dhclientEnter: '/etc/dhcp/dhclient-enter-hooks.d/multihomed-routing',
  udevRule: '/etc/udev/rules.d/99-multihomed-routing.rules',
  nmDispatcher: '/etc/NetworkManager/dispatcher.d/01-ifupdown',
};

export interface ReadHostOptions {
  config: Config;
  probes?: { 4: string; 6: string };
  /** Runs the reply probes (`ip route get`). */
  run?: Runner;
}

/** The value of `f`, or undefined when it throws (a file that is missing or cannot be read). */
const attempt = <T>(f: () => T): T | undefined => {
  try {
    return f();
  } catch {
    return undefined;
  }
};
const exists = (p: string) => attempt(() => statSync(p)) !== undefined;
const executable = (p: string) => attempt(() => { accessSync(p, constants.X_OK); return statSync(p).isFile(); }) ?? false;
const readText = (p: string) => attempt(() => readFileSync(p, 'utf8'));
const list = (dir: string) => attempt(() => readdirSync(dir));

function readHook(path: string): HookFile {
  const text = readText(path);
  const target = text === undefined ? undefined : hookTarget(text);
  return {
    path,
    exists: exists(path),
    executable: executable(path),
    ...(target ? { target, targetExecutable: executable(target) } : {}),
  };
}

async function probeReply(run: Runner, family: 4 | 6, ifname: string, address: string, probe: string, bound: boolean): Promise<ReplyRoute> {
  // -d: the answer names its table, main included; none means no table had a route (see ReplyRoute.table).
  const argv = ['ip', '-d', '-json', `-${family}`, 'route', 'get', probe, 'from', address, ...(bound ? ['oif', ifname] : [])];
  const r = await run(argv, { reject: false });
  const base = { address, ifname, probe, ...(bound ? { bound } : {}) };
  if (r.exitCode !== 0) return { ...base, error: r.stderr.trim() || `exit ${r.exitCode}` };
  try {
    const [first] = JSON.parse(r.stdout) as { dev?: string; gateway?: string; table?: string }[];
    return { ...base, ...(first?.dev ? { dev: first.dev } : {}), ...(first?.gateway ? { gateway: first.gateway } : {}), ...(first?.table ? { table: first.table } : {}) };
  } catch {
    return { ...base, error: `unexpected output: ${r.stdout.slice(0, 80)}` };
  }
}

/** dnsmasq processes sharing our network namespace, with what they read. */
function readDnsmasqs(): DnsmasqProcess[] {
  const ownNet = attempt(() => readlinkSync('/proc/self/ns/net'));
  const out: DnsmasqProcess[] = [];
  for (const name of list('/proc') ?? []) {
    if (!/^\d+$/.test(name)) continue;
    if (readText(`/proc/${name}/comm`)?.trim() !== 'dnsmasq') continue;
    const net = attempt(() => readlinkSync(`/proc/${name}/ns/net`));
    if (net === undefined || (ownNet && net !== ownNet)) continue;
    const argv = parseCmdline(readText(`/proc/${name}/cmdline`) ?? '');
    out.push({ pid: Number(name), argv, ...dnsmasqReads(argv, realConfFs) });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

function readPid(file: string): number | undefined {
  const text = readText(file)?.trim();
  return text && /^[1-9]\d*$/.test(text) && exists(`/proc/${text}`) ? Number(text) : undefined;
}

function readNetworkd(ifnames: Map<number, string>): HostSnapshot['networkd'] {
  const dir = '/run/systemd/netif/links';
  const out: HostSnapshot['networkd'] = [];
  for (const name of list(dir) ?? []) {
    const ifname = ifnames.get(Number(name));
    const text = readText(join(dir, name));
    if (!ifname || text === undefined) continue;
    const s = parseNetworkdLink(text);
    if (s.managed) out.push({ ifname, ...(s.networkFile ? { networkFile: s.networkFile } : {}) });
  }
  return out;
}

function readNetplan(): HostSnapshot['netplan'] {
  const out: HostSnapshot['netplan'] = [];
  for (const dir of ['/etc/netplan', '/run/netplan']) {
    for (const name of (list(dir) ?? []).filter((n) => n.endsWith('.yaml')).sort()) {
      const file = join(dir, name);
      for (const d of parseNetplan(readText(file) ?? '')) out.push({ ...d, file });
    }
  }
  return out;
}

/** A forwarding host's bridges: where traffic from behind each goes, and the NAT rules nftables holds. */
async function readForwarding(run: Runner, kernel: KernelState, config: Config, probe: string): Promise<HostSnapshot['forwarding']> {
  const ipForward = readText('/proc/sys/net/ipv4/ip_forward')?.trim() === '1';
  if (!ipForward) return { ipForward, sources: [] };
  const managed = new Set([...indexState(kernel, config).entries.values()].map((e) => e.ifname));
  const sources: NonNullable<HostSnapshot['forwarding']>['sources'] = [];
  for (const l of kernel.links) {
    if (managed.has(l.ifname) || !l.up || !exists(`/sys/class/net/${l.ifname}/bridge`)) continue;
    for (const a of l.addresses) {
      const p = a.address.prefix;
      if (p.network.family !== 4 || p.length > 30 || a.scope !== 0) continue;
      // A neighbour's address in the bridge's prefix (a container's, a VM's): not the host's own.
      const from = ipFromValue(4, p.network.value + (p.network.value + 1n === a.address.address.value ? 2n : 1n)).text;
      const r = await run(['ip', '-json', '-4', 'route', 'get', probe, 'from', from, 'iif', l.ifname], { reject: false });
      let dev: string | undefined;
      try {
        dev = r.exitCode === 0 ? (JSON.parse(r.stdout) as { dev?: string }[])[0]?.dev : undefined;
      } catch {
        dev = undefined;
      }
      sources.push({ ifname: l.ifname, prefix: p.text, from, probe, ...(dev ? { dev } : { error: r.stderr.trim() || `exit ${r.exitCode}` }) });
    }
  }
  const nft = sources.length ? await run(['nft', '-j', 'list', 'ruleset'], { reject: false }).catch(() => undefined) : undefined;
  return { ipForward, sources, ...(nft?.exitCode === 0 ? { nftJson: nft.stdout } : {}) };
}

/** Whether the lease store can be written: the daemon's word first (a full disk shows only on writing), else the directory's permission. */
function readStoreProblem(config: Config): HostSnapshot['storeProblem'] {
  try {
    const view = readView(config.runDir);
    if (view?.store && isRunning(view.pid)) return { path: view.store.path, error: view.store.error, seenBy: 'daemon' };
  } catch {
    // no view to trust: probe below
  }
  let dir = dirname(config.storePath);
  while (!exists(dir) && dirname(dir) !== dir) dir = dirname(dir); // the daemon makes what is missing
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { path: config.storePath, error: `${e.code ?? e.message}: ${dir} cannot be written`, seenBy: 'doctor' };
  }
}

/** The health view, when the daemon that wrote it still runs (a stale one says nothing about now). */
function liveHealth(runDir: string): { health?: UplinkHealth[] } {
  try {
    const view = readHealthView(runDir);
    return view && isRunning(view.pid) ? { health: view.uplinks } : {};
  } catch {
    return {};
  }
}

/** Reads everything doctor judges. */
export async function readHost(options: ReadHostOptions): Promise<HostSnapshot> {
  const { config } = options;
  const run = options.run ?? defaultRun;
  const probes = options.probes ?? DEFAULT_PROBES;
  const kernel = await readState({ families: [4, 6], runDir: config.runDir });
  const candidates = candidateAddresses(kernel, config);
  const [replyRoutes, daemon] = await Promise.all([
    Promise.all(candidates.map((c) =>
      probeReply(run, c.family, c.ifname, c.address, probes[c.family], candidates.some((o) => o.address === c.address && o.ifname !== c.ifname)),
    )),
    listLeases(config, { timeoutMs: 2000 }).then(
      (leases) => ({
        socketPath: config.socketPath,
        answering: true,
        leases: leases.map((l) => ({ ifname: l.ifname, address: l.address.text, family: l.address.family, table: l.table })),
      }),
      (err: Error & { code?: string }) => ({ socketPath: config.socketPath, answering: false, error: err.code ?? err.message }),
    ),
  ]);
  const rpFilter = {
    all: readText('/proc/sys/net/ipv4/conf/all/rp_filter')?.trim() ?? '',
    byIface: Object.fromEntries(
      kernel.links.map((l) => [l.ifname, readText(`/proc/sys/net/ipv4/conf/${l.ifname}/rp_filter`)?.trim() ?? '']),
    ),
  };
  const storeProblem = readStoreProblem(config);
  const nmPresent = ['/usr/sbin/NetworkManager', '/usr/lib/systemd/system/NetworkManager.service', '/lib/systemd/system/NetworkManager.service', '/etc/NetworkManager/NetworkManager.conf'].some(exists);
  return {
    kernel,
    rpFilter,
    replyRoutes,
    daemon,
    dnsmasq: { running: readDnsmasqs(), ...(readPid(config.dnsmasqPidFile) ? { pidFromFile: readPid(config.dnsmasqPidFile)! } : {}) },
    tools: {
      ifupdown: ['/sbin/ifup', '/usr/sbin/ifup'].some(exists),
      dhclient: ['/sbin/dhclient-script', '/usr/sbin/dhclient-script'].some(exists),
      udev: ['/usr/bin/udevadm', '/bin/udevadm', '/sbin/udevadm'].some(exists) && exists('/etc/udev'),
      networkManager: nmPresent,
    },
    hooks: Object.fromEntries(Object.entries(HOOK_PATHS).map(([name, path]) => [name, readHook(path)])) as HostSnapshot['hooks'],
    networkd: readNetworkd(new Map(kernel.links.map((l) => [l.ifindex, l.ifname]))),
    ...(storeProblem ? { storeProblem } : {}),
    netplan: readNetplan(),
    forwarding: await readForwarding(run, kernel, config, probes[4]),
    ...liveHealth(config.runDir),
  };
}
