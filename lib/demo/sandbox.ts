// The demo's sandbox: a multihomed host, one edge router per uplink and an
// "internet", all network namespaces named mhr-demo-<pid>-…, and how to
// remove them (also what an earlier, crashed or --keep run left).
//
//   host eth0  (wired)  ── r0 192.168.1.1/24 ─┐
//        wlan0 (Wi-Fi)  ── r1 192.168.2.1/24 ─┤ internet: 198.51.100.1
//        wwan0 (modem)  ── r2 192.168.8.1/24 ─┤ (100.64.i.0/24 to router i)
//        wwan1 (modem)  ── r3 192.168.8.1/24 ─┘
//
// Routers NAT like ISPs and forward echo requests from the internet to the
// host's address ("DMZ host", as LTE modems offer): a reply that leaves by
// another uplink is not translated back, and is lost.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dnsmasqArgv } from '../sandbox/dnsmasq.js';
import { edgeCounters, wireEdge } from '../sandbox/edge.js';
import { SandboxHost } from '../sandbox/host.js';
import { Namespace, addNetns, deleteNetns, isAlive, killPids, listNetns, poll, processesWith, readPidFile } from '../sandbox/netns.js';

export interface Uplink {
  ifname: string;
  kind: string;
  /** The router's LAN address, with prefix length. */
  router: string;
  /** The one address the router's DHCP server hands out. */
  address: string;
}

export const UPLINKS: readonly Uplink[] = [
  { ifname: 'eth0', kind: 'wired', router: '192.168.1.1/24', address: '192.168.1.10' },
  { ifname: 'wlan0', kind: 'Wi-Fi', router: '192.168.2.1/24', address: '192.168.2.10' },
  { ifname: 'wwan0', kind: 'LTE modem', router: '192.168.8.1/24', address: '192.168.8.100' },
  { ifname: 'wwan1', kind: 'LTE modem', router: '192.168.8.1/24', address: '192.168.8.100' },
];

export const INTERNET = '198.51.100.1';
export const CONFIG = '/etc/multihomed-routing/multihomed-routing.conf';
export const SERVERS_FILE = '/run/multihomed-routing/dnsmasq-servers.conf';
export const SOCKET = '/run/multihomed-routing/allocator/allocator.sock';
export const UDEV_RULE = '/etc/udev/rules.d/99-multihomed-routing.rules';
export const DHCLIENT_HOOK = '/etc/dhcp/dhclient-enter-hooks.d/multihomed-routing';

const NAME = /^mhr-demo-(\d+)-/;
/** Environment variable naming the sandbox, set for every program in it. */
export const MARKER = 'MHR_DEMO_SANDBOX';

/** Everything one demo run creates; `destroy` works on a partly built one. */
export class Sandbox {
  readonly prefix = `mhr-demo-${process.pid}`;
  readonly dir: string;
  /** Processes started (holder, dnsmasq, daemon, dhclients): checked gone after destroy. */
  readonly pids = new Set<number>();
  host!: SandboxHost;
  internet!: Namespace;
  routers: Namespace[] = [];

  /** In the environment of every program of the sandbox: what `leftovers` looks for. */
  readonly marker = `${MARKER}=${this.prefix}`;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${this.prefix}-`));
  }

  private mark<T extends Namespace>(ns: T): T {
    ns.env = { [MARKER]: this.prefix };
    return ns;
  }

  log(name: string): string {
    return path.join(this.dir, `${name}.log`);
  }

  /** Namespaces, host with private /etc and /run, routers with dnsmasq, the internet. */
  async build(): Promise<void> {
    const host = this.mark(await addNetns(`${this.prefix}-h`));
    const scratch = path.join(this.dir, 'host');
    fs.mkdirSync(scratch);
    this.host = this.mark(await SandboxHost.create(host.name, scratch, this.log('holder'), host.env));
    this.pids.add(this.host.holderPid);
    this.internet = this.mark(await addNetns(`${this.prefix}-i`));
    for (let i = 0; i < UPLINKS.length; i++) this.routers.push(this.mark(await addNetns(`${this.prefix}-r${i}`)));

    // The host filters strictly, as many distributions do.
    await this.host.setSysctl({ 'net.ipv4.conf.all.rp_filter': 1, 'net.ipv4.conf.default.rp_filter': 1 });
    await this.host.exec(['ip', 'link', 'set', 'lo', 'up']);
    // The internet drops what it has no route back for: an untranslated private source.
    await this.internet.setSysctl({ 'net.ipv4.conf.all.rp_filter': 1, 'net.ipv4.conf.default.rp_filter': 1 });
    await this.internet.exec(['ip', 'link', 'set', 'lo', 'up']);
    await this.internet.exec(['ip', 'addr', 'add', `${INTERNET}/32`, 'dev', 'lo']);
    await Promise.all(
      UPLINKS.map((u, i) =>
        wireEdge(this.routers[i]!, this.host, this.internet, {
          index: i,
          hostIfname: u.ifname,
          lanAddress4: u.router,
          ruleset: { nat: true, counters: true, dmz4: u.address, sourceFilter6: {} },
        }),
      ),
    );
    await Promise.all(UPLINKS.map((u, i) => this.startDnsmasq(i, u)));
  }

  private async startDnsmasq(i: number, u: Uplink): Promise<void> {
    const router = this.routers[i]!;
    const pidFile = path.join(this.dir, `dnsmasq-r${i}.pid`);
    const gw = u.router.split('/')[0]!;
    const argv = dnsmasqArgv({
      lanIfname: 'lan',
      address4: gw,
      dhcp: { range: [u.address, u.address], leaseTime: '10m' },
      dns: { records: { [`${u.ifname}.uplink.test`]: [gw] } },
      pidFile,
      logFile: this.log(`dnsmasq-r${i}`),
      leaseFile: path.join(this.dir, `dnsmasq-r${i}.leases`),
    });
    const proc = router.start(argv, this.log(`dnsmasq-r${i}.out`));
    this.pids.add(proc.pid);
    const ok = await poll(() => readPidFile(pidFile), 5000, 20);
    if (!ok) throw new Error(`dnsmasq in ${router.name} did not start: ${fs.readFileSync(this.log(`dnsmasq-r${i}.out`), 'utf8').trim()}`);
  }

  /** Packets of ICMP echo requests and replies each router forwarded from its LAN. */
  async counters(): Promise<Array<{ request: number; reply: number }>> {
    return Promise.all(
      this.routers.map(async (r) => {
        const c = await edgeCounters(r);
        return { request: c.lan_echo_request ?? 0, reply: c.lan_echo_reply ?? 0 };
      }),
    );
  }

  /** Kills everything, deletes the namespaces and the temp dir; returns what is still there. */
  async destroy(): Promise<string[]> {
    const ours = (await listNetns()).filter((n) => n.startsWith(`${this.prefix}-`));
    // Host last: its holder owns the private /etc and /run.
    ours.sort((a, b) => Number(a.endsWith('-h')) - Number(b.endsWith('-h')));
    const problems: string[] = [];
    for (const ns of ours) await deleteNetns(ns).catch((err: Error) => problems.push(err.message));
    await killPids([...this.pids, ...processesWith(this.marker)]);
    fs.rmSync(this.dir, { recursive: true, force: true });
    return [...problems, ...(await this.leftovers())];
  }

  /** What of this run still exists: namespaces, processes, the temp dir. */
  async leftovers(): Promise<string[]> {
    const left = (await listNetns()).filter((n) => n.startsWith(`${this.prefix}-`)).map((n) => `namespace ${n}`);
    for (const pid of new Set([...this.pids, ...processesWith(this.marker)])) if (isAlive(pid)) left.push(`process ${pid}`);
    if (fs.existsSync(this.dir)) left.push(`directory ${this.dir}`);
    return left;
  }
}

/**
 * Removes what earlier demo runs left (crashed, killed, or --keep): their
 * namespaces (with every process in them) and temp dirs. A demo that is still
 * running (its pid alive) is left alone. Returns what was removed.
 */
export async function sweep(): Promise<string[]> {
  const stale = (name: string) => {
    const m = NAME.exec(name);
    return !!m && Number(m[1]) !== process.pid && !isAlive(Number(m[1]));
  };
  const removed: string[] = [];
  const names = (await listNetns()).filter(stale);
  names.sort((a, b) => Number(a.endsWith('-h')) - Number(b.endsWith('-h')));
  for (const ns of names) {
    await deleteNetns(ns);
    removed.push(`namespace ${ns}`);
  }
  for (const entry of fs.readdirSync(os.tmpdir()).filter(stale)) {
    fs.rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
    removed.push(path.join(os.tmpdir(), entry));
  }
  return removed;
}
