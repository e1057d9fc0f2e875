// `multihomed-routing demo`, the steps. Each step does something an operator
// would do (or suffer: a pulled plug, an unplugged modem) in the sandbox and
// checks what an operator would check: `ip rule`, `ip route show table T`,
// and which router a packet really went through (nftables counters at each
// router). The first step that does not behave stops the run; the sandbox is
// removed whatever happens (also on SIGINT, SIGTERM, SIGHUP).

import fs from 'node:fs';
import sea from 'node:sea';
import { listLeases } from '../allocator/client.js';
import type { RunResult } from '../exec/run.js';
import { isAlive, poll, readPidFile } from '../sandbox/netns.js';
import { dhclientShim, udevRule } from './assets.js';
import { Reporter, logGist, type DemoReport } from './report.js';
import { CONFIG, DHCLIENT_HOOK, INTERNET, SERVERS_FILE, SOCKET, UDEV_RULE, UPLINKS, Sandbox, sweep } from './sandbox.js';

export interface DemoOptions {
  keep: boolean;
  json: boolean;
  /** Test aid: a component left out, so that the step depending on it fails. */
  break?: 'udev' | 'watcher';
  write(text: string): void;
}

/** Programs the sandbox needs, with the Debian package that has each. */
const NEEDS: Record<string, string> = {
  ip: 'iproute2',
  nsenter: 'util-linux',
  mount: 'mount',
  nft: 'nftables',
  dnsmasq: 'dnsmasq-base',
  dhclient: 'isc-dhcp-client',
  'dhclient-script': 'isc-dhcp-client',
  ping: 'iputils-ping',
  sleep: 'coreutils',
  env: 'coreutils',
};

const DHCLIENT_CONF = `# multihomed-routing demo: Debian's request list, a short timeout
option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
request subnet-mask, broadcast-address, time-offset, routers,
	domain-name, domain-name-servers, domain-search, host-name,
	interface-mtu, rfc3442-classless-static-routes, ntp-servers;
timeout 15;
`;

interface Rule {
  priority: number;
  src?: string;
  iif?: string;
  oif?: string;
  table: string;
  protocol?: string;
}

interface Route {
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  flags?: string[];
}

/** What step 3 found per uplink. */
interface Managed {
  ifname: string;
  address: string;
  table: string;
  gateway: string;
}

const TITLES = [
  'Build the sandbox: a host with 4 uplinks, a router for each, an internet',
  "Install the hooks in the host's private /etc and start the daemon",
  'Real dhclient on every uplink: a table and rules per address',
  'The internet pings every host address: replies return the way they came',
  'Traffic bound to an uplink leaves by it',
  'Unbound traffic leaves by the top-priority uplink, eth0',
  "Pull eth0's plug: unbound traffic fails over to wlan0",
  'Plug eth0 back in: traffic returns to eth0',
  'Unplug the modem wwan1: everything of it is cleaned up',
];

const lines = (text: string) => text.split('\n').map((l) => l.replace(/\t/g, ' ').trimEnd()).filter(Boolean);


export async function runDemo(opts: DemoOptions): Promise<DemoReport> {
  let interrupted = false;
  const report = new Reporter((text) => {
    if (!interrupted) opts.write(text);
  }, opts.json);
  const sb = new Sandbox();
  const removeSandbox = () => sb.destroy();
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nmultihomed-routing demo: ${sig}: removing the sandbox\n`);
    removeSandbox().then(
      (left) => {
        if (left.length) process.stderr.write(`left behind: ${left.join(', ')}\n`);
        process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
      },
      () => process.exit(1),
    );
  };
  for (const s of signals) process.on(s, onSignal);

  let exe: ReturnType<typeof executable>;
  const managed: Managed[] = [];
  const byName = (ifname: string) => managed.find((m) => m.ifname === ifname)!;
  const routerOf = (ifname: string) => UPLINKS.findIndex((u) => u.ifname === ifname);
  const label = (i: number) => `${UPLINKS[i]!.ifname}'s router`;

  /** Runs `send`, then says which routers forwarded an echo request (or reply) from their LAN. */
  const through = async (kind: 'request' | 'reply', send: () => Promise<boolean>) => {
    const before = await sb.counters();
    const replied = await send();
    const after = await sb.counters();
    const routers = after.flatMap((c, i) => (c[kind] > before[i]![kind] ? [i] : []));
    return { replied, routers };
  };
  /** The check for traffic that must reply and cross router `want` only. */
  const via = (r: { replied: boolean; routers: number[] }, want: number, text: string) =>
    report.check(
      r.replied && r.routers.length === 1 && r.routers[0] === want,
      text,
      `${r.replied ? 'reply' : 'no reply'}; forwarded by ${r.routers.map(label).join(', ') || 'no router'}`,
    );

  const steps: Array<() => Promise<void>> = [
    // 1
    async () => {
      const missing = missingPrograms();
      if (process.getuid?.() !== 0) throw new Error('the demo needs root (it creates network namespaces)');
      if (missing.length) throw new Error(`missing programs: ${missing.join(', ')}`);
      const swept = await sweep();
      if (swept.length) report.note(`removed what an earlier demo left: ${swept.join(', ')}`);
      await sb.build();
      report.show('ip netns list', [
        `${sb.host.name}   the host`,
        ...sb.routers.map((r, i) => `${r.name}  router of ${UPLINKS[i]!.ifname} (${UPLINKS[i]!.kind}): ${UPLINKS[i]!.router}`),
        `${sb.internet.name}   the internet: ${INTERNET}`,
      ]);
      report.note(
        "Routers NAT like ISPs (a reply leaving by the wrong uplink is not translated back and is lost), drop sources that are not theirs (rp_filter=1), and forward pings from the internet to the host (a modem's DMZ host). Both modems hand out 192.168.8.100. The host filters strictly (rp_filter=1).",
      );
      const probe = `/etc/.${sb.prefix}-probe`;
      sb.host.writeFile(probe, 'private\n');
      const privateEtc = (await sb.host.exec(['cat', probe], { reject: false })).stdout === 'private\n' && !fs.existsSync(probe);
      await sb.host.exec(['rm', '-f', probe]);
      report.check(privateEtc, "the host's /etc is private: a file written there is not in the machine's /etc");
      const dnsmasqs = [...sb.pids].filter((p) => p !== sb.host.holderPid && isAlive(p));
      report.check(dnsmasqs.length === UPLINKS.length, `${UPLINKS.length} routers with dnsmasq running on their LAN`, `${dnsmasqs.length} running`);
    },
    // 2
    async () => {
      exe = executable(sb);
      if (!fs.existsSync(sb.host.real(exe.path))) throw new Error(`the host cannot see the executable ${exe.path} (under /etc or /run?)`);
      exe.install();
      sb.host.writeFile(
        CONFIG,
        [
          '# multihomed-routing demo sandbox',
          'syslog = no',
          'store_path = /run/multihomed-routing/leases.json',
          ...(opts.break === 'watcher' ? ['watch_kernel = no  # demo --break watcher'] : []),
          '',
        ].join('\n'),
      );
      sb.host.writeFile('/etc/dhcp/dhclient.conf', DHCLIENT_CONF);
      sb.host.writeFile(
        DHCLIENT_HOOK,
        dhclientShim.replace("mhr_exe='@EXECUTABLE@'", `mhr_exe='${exe.path}'`).replace("mhr_config='@CONFIG@'", `mhr_config='${CONFIG}'`),
      );
      sb.host.writeFile(UDEV_RULE, udevRule.replaceAll('@EXECUTABLE@', exe.path).replaceAll('@CONFIG@', CONFIG));
      const daemon = sb.host.start([exe.path, '--config', CONFIG, 'daemon'], sb.log('daemon'));
      sb.pids.add(daemon.pid);
      const up = await poll(() => listLeases({ socketPath: sb.host.real(SOCKET) }).then(() => true), 5000);
      report.show(`ls  # the host's /etc, in memory`, [CONFIG, DHCLIENT_HOOK, UDEV_RULE]);
      report.note(`Every hook runs ${exe.path}${exe.wrapper ? ' (through a wrapper: not a single executable)' : ''}.`);
      report.check(!!up && isAlive(daemon.pid), `daemon running (pid ${daemon.pid}): table allocator${opts.break === 'watcher' ? '' : ' and kernel watcher'}`, tail(sb.log('daemon')));
    },
    // 3
    async () => {
      const runs = await Promise.all(
        UPLINKS.map((u) =>
          sb.host.exec(['dhclient', '-4', '-v', '-pf', `/run/dhclient.${u.ifname}.pid`, '-lf', `/run/dhclient.${u.ifname}.leases`, u.ifname], {
            reject: false,
            timeoutMs: 30_000,
          }),
        ),
      );
      for (const u of UPLINKS) {
        const pid = readPidFile(sb.host.real(`/run/dhclient.${u.ifname}.pid`));
        if (pid) sb.pids.add(pid);
      }
      const rules = await sb.host.ipJson<Rule[]>(['-N', '-4', 'rule', 'show']);
      const ours = rules.filter((r) => r.protocol === '201');
      report.show('ip rule', await sb.host.ipLines(['-4', 'rule', 'show']));
      for (const [i, u] of UPLINKS.entries()) {
        const r = runs[i]!;
        const [addr] = (await sb.host.ipJson<Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>>(['-4', 'addr', 'show', 'dev', u.ifname]))[0]?.addr_info ?? [];
        const table = ours.find((x) => x.oif === u.ifname)?.table;
        const gw = u.router.split('/')[0]!;
        if (!addr || !table || r.exitCode !== 0) {
          report.check(false, `${u.ifname}: an address and a table`, `dhclient exit ${r.exitCode}, address ${addr?.local ?? 'none'}, table ${table ?? 'none'}: ${lines(r.stderr).slice(-2).join(' / ')}`);
          continue;
        }
        const routes = await sb.host.ipJson<Route[]>(['-4', 'route', 'show', 'table', table]);
        report.show(`ip route show table ${table}`, await sb.host.ipLines(['-4', 'route', 'show', 'table', table]));
        const hasFrom = ours.some((x) => x.src === addr.local && x.table === table);
        const hasIif = ours.some((x) => x.iif === 'lo' && x.table === table);
        const hasDefault = routes.some((x) => x.dst === 'default' && x.gateway === gw && x.dev === u.ifname && x.prefsrc === addr.local);
        managed.push({ ifname: u.ifname, address: addr.local, table, gateway: gw });
        report.check(
          addr.local === u.address && hasFrom && hasIif && hasDefault,
          `${u.ifname} ${addr.local}/${addr.prefixlen}: table ${table}, rules from, oif, iif lo; default via ${gw}`,
          `from rule ${hasFrom}, iif lo rule ${hasIif}, default route ${hasDefault}`,
        );
      }
      if (managed.length !== UPLINKS.length) return;
      const order = ours
        .filter((x) => x.iif === 'lo')
        .sort((a, b) => a.priority - b.priority)
        .map((x) => managed.find((m) => m.table === x.table)?.ifname);
      report.check(order.join(' ') === UPLINKS.map((u) => u.ifname).join(' '), `unbound order (iif lo, 91000…): ${order.join(', ')}, as interface_priority says`);
      const mainDefault = (await sb.host.ipJson<Route[]>(['-4', 'route', 'show', 'table', 'main'])).filter((x) => x.dst === 'default');
      report.check(mainDefault.length === 0, 'main holds no default route (it would shadow the iif lo rules)', JSON.stringify(mainDefault));
      const servers = lines(sb.host.readFile(SERVERS_FILE)).filter((l) => l.startsWith('server='));
      const want = managed.map((m) => `server=${m.gateway}@${m.ifname}`);
      report.check(want.every((w) => servers.includes(w)), `DNS per uplink in the servers-file: ${want.map((w) => w.slice(7)).join(' ')}`, servers.join(' ') || 'empty');
      const rp = await Promise.all(['all', 'wwan0', 'wwan1'].map((d) => sb.host.exec(['sysctl', '-n', `net.ipv4.conf.${d}.rp_filter`]).then((r) => r.stdout.trim())));
      report.check(rp.join() === '1,2,2', 'rp_filter: strict host-wide, loose (2) on wwan0 and wwan1, which share 192.168.8.100', `all, wwan0, wwan1: ${rp.join(', ')}`);
    },
    // 4
    async () => {
      const first = firstOwner(await sb.host.ipJson<Rule[]>(['-N', '-4', 'rule', 'show']), managed, '192.168.8.100');
      for (const ifname of ['eth0', 'wlan0', first]) {
        const i = routerOf(ifname);
        const m = byName(ifname);
        const r = await through('reply', () => sb.internet.ping(`100.64.${i}.2`));
        via(r, i, `internet → 100.64.${i}.2 (${ifname}'s router) → ${m.address} on ${ifname}: the reply went back through ${ifname}`);
      }
      const other = first === 'wwan0' ? 'wwan1' : 'wwan0';
      const i = routerOf(other);
      const r = await through('reply', () => sb.internet.ping(`100.64.${i}.2`, { timeoutS: 1 }));
      report.note(
        `Not a check: ${other} holds the same 192.168.8.100, and a reply (not bound to a device) follows the first \`from 192.168.8.100\` rule, ${first}'s. Pinging ${other}'s router from the internet: ${r.replied ? 'a reply' : 'no reply'}, the reply forwarded by ${r.routers.map(label).join(', ') || 'no router'}. Traffic the host starts on ${other} does work (next step).`,
      );
    },
    // 5
    async () => {
      for (const m of managed) {
        const r = await through('request', () => sb.host.ping(INTERNET, { from: m.ifname }));
        via(r, routerOf(m.ifname), `ping -I ${m.ifname} ${INTERNET}: left by ${m.ifname}`);
      }
      const first = firstOwner(await sb.host.ipJson<Rule[]>(['-N', '-4', 'rule', 'show']), managed, '192.168.8.100');
      for (const [address, ifname] of [['192.168.1.10', 'eth0'], ['192.168.2.10', 'wlan0'], ['192.168.8.100', first]] as const) {
        const r = await through('request', () => sb.host.ping(INTERNET, { from: address }));
        via(r, routerOf(ifname), `ping -I ${address} ${INTERNET}: left by ${ifname}${address === '192.168.8.100' ? ' (the first of the two)' : ''}`);
      }
    },
    // 6
    async () => {
      const get = await sb.host.ipLines(['route', 'get', INTERNET]);
      report.show(`ip route get ${INTERNET}`, get.filter((l) => l.trim() !== 'cache'));
      report.check(/ dev eth0 /.test(get[0] ?? ''), `the kernel picks eth0 (table ${byName('eth0').table}, rule iif lo 91000)`);
      via(await through('request', () => sb.host.ping(INTERNET)), 0, `ping ${INTERNET}: left by eth0`);
    },
    // 7
    async () => {
      await sb.routers[0]!.exec(['ip', 'link', 'set', 'lan', 'down']);
      const noCarrier = await poll(async () => (await linkFlags('eth0')).includes('NO-CARRIER'), 3000);
      report.note(`${sb.routers[0]!.name}: ip link set lan down (the cable's other end)`);
      report.check(!!noCarrier, 'eth0 has no carrier', (await linkFlags('eth0')).join(','));
      const t = byName('eth0').table;
      const routes = await sb.host.ipJson<Route[]>(['-4', 'route', 'show', 'table', t]);
      report.show(`ip route show table ${t}`, await sb.host.ipLines(['-4', 'route', 'show', 'table', t]));
      report.check(routes.length > 0 && routes.every((x) => x.flags?.includes('linkdown')), `eth0's routes stay in table ${t}, marked linkdown: ignored (ignore_routes_with_linkdown)`);
      const get = await sb.host.ipLines(['route', 'get', INTERNET]);
      report.show(`ip route get ${INTERNET}`, get.filter((l) => l.trim() !== 'cache'));
      report.check(/ dev wlan0 /.test(get[0] ?? ''), 'the kernel picks wlan0, the next in priority');
      via(await through('request', () => sb.host.ping(INTERNET)), 1, `ping ${INTERNET}: left by wlan0`);
    },
    // 8
    async () => {
      await sb.routers[0]!.exec(['ip', 'link', 'set', 'lan', 'up']);
      report.note(`${sb.routers[0]!.name}: ip link set lan up`);
      const back = await poll(async () => / dev eth0 /.test((await sb.host.ipLines(['route', 'get', INTERNET]))[0] ?? ''), 5000);
      report.show(`ip route get ${INTERNET}`, (await sb.host.ipLines(['route', 'get', INTERNET])).filter((l) => l.trim() !== 'cache'));
      report.check(!!back, 'the kernel picks eth0 again: carrier back, routes live');
      let r = await through('request', () => sb.host.ping(INTERNET));
      for (let n = 0; n < 5 && !r.replied; n++) r = await through('request', () => sb.host.ping(INTERNET));
      via(r, 0, `ping ${INTERNET}: left by eth0`);
    },
    // 9
    async () => {
      const gone = byName('wwan1');
      const kept = byName('wwan0');
      const dhclientPid = readPidFile(sb.host.real('/run/dhclient.wwan1.pid'));
      const keptPid = readPidFile(sb.host.real('/run/dhclient.wwan0.pid'));
      const ifindex = (await sb.host.ipJson<Array<{ ifindex: number }>>(['link', 'show', 'dev', 'wwan1']))[0]?.ifindex;
      const daemonLogAt = fs.statSync(sb.log('daemon')).size;
      await sb.routers[3]!.exec(['ip', 'link', 'del', 'lan']);
      report.note(`${sb.routers[3]!.name}: ip link del lan (the veth pair goes: wwan1 vanishes from the host)`);
      if (opts.break === 'udev') {
        report.note('--break udev: the udev handler is NOT run (a host without the rule).');
      } else {
        // No udevd in the sandbox: the demo plays udev, running the installed rule's RUN with udev's environment only.
        const cmd = /RUN\+="([^"]+)"/.exec(sb.host.readFile(UDEV_RULE))?.[1]?.split(/\s+/) ?? [];
        const env = ['ACTION=remove', 'SUBSYSTEM=net', 'INTERFACE=wwan1', `IFINDEX=${ifindex}`, 'DEVPATH=/devices/virtual/net/wwan1'];
        const r: RunResult = await sb.host.exec(['env', '-i', ...env, ...cmd], { reject: false, timeoutMs: 20_000 });
        report.note(`No udevd in the sandbox: the demo runs the RUN command of ${UDEV_RULE} as udev would, with only udev's environment (${env.join(' ')}). What it did:`);
        report.show(`${cmd[0]?.split('/').pop()} … ${cmd.at(-1)}  # exit ${r.exitCode}`, lines(r.stderr).map(logGist));
      }
      const state = async () => {
        const rules = (await sb.host.ipJson<Rule[]>(['-N', '-4', 'rule', 'show'])).filter((x) => x.protocol === '201');
        const leases = await listLeases({ socketPath: sb.host.real(SOCKET) });
        const servers = lines(sb.host.readFile(SERVERS_FILE));
        return {
          dhclient: !!dhclientPid && isAlive(dhclientPid),
          keptDhclient: !!keptPid && isAlive(keptPid),
          rules: rules.filter((x) => x.table === gone.table || x.oif === 'wwan1').length,
          keptRules: rules.filter((x) => x.table === kept.table).length,
          from: firstOwner(rules, managed, '192.168.8.100'),
          lease: leases.some((l) => l.ifname === 'wwan1'),
          dns: servers.some((l) => l.endsWith('@wwan1')),
          keptDns: servers.includes(`server=${kept.gateway}@wwan0`),
        };
      };
      const clean = (s: Awaited<ReturnType<typeof state>>) => !s.dhclient && !s.rules && !s.lease && !s.dns;
      await poll(async () => clean(await state()), 5000, 100);
      const s = await state();
      const watcher = lines(fs.readFileSync(sb.log('daemon'), 'utf8').slice(daemonLogAt)).filter((l) => /\bwwan1\b/.test(l));
      report.show(`grep wwan1 daemon.log  # the daemon (allocator, watcher) since`, watcher.length ? watcher.map(logGist) : ['(nothing)']);
      report.check(!s.dhclient && s.keptDhclient, `wwan1's dhclient (pid ${dhclientPid}) stopped; wwan0's (pid ${keptPid}) still runs`, `wwan1's ${s.dhclient ? 'still running' : 'stopped'}, wwan0's ${s.keptDhclient ? 'running' : 'gone'}`);
      report.check(s.rules === 0, `no rule left for table ${gone.table} or wwan1`, `${s.rules} rules left`);
      report.check(!s.lease, `table ${gone.table}'s lease released (the allocator holds none for wwan1)`);
      report.check(!s.dns, `wwan1's DNS server gone from the servers-file`, 'server=…@wwan1 still there');
      report.check(s.keptRules >= 4 && s.from === 'wwan0' && s.keptDns, `wwan0 untouched: its ${s.keptRules} rules, \`from 192.168.8.100\` → table ${kept.table}, its DNS server`);
      via(await through('request', () => sb.host.ping(INTERNET, { from: 'wwan0' })), 2, `ping -I wwan0 ${INTERNET}: left by wwan0`);
      report.note(
        opts.break === 'udev'
          ? "Without the udev handler, the daemon's kernel watcher removed the rules and released the lease, but wwan1's dhclient and DNS server stay: that is the udev handler's job."
          : opts.break === 'watcher'
            ? 'The daemon ran without its kernel watcher (--break watcher): the udev handler alone cleaned up.'
            : "The udev handler stops the interface's dhclient and drops its DNS servers; the rules and the lease are removed by whichever of the handler and the daemon's kernel watcher comes first (both are idempotent).",
      );
    },
  ];

  let skipped: string[] = [];
  try {
    report.title(`multihomed-routing demo: ${UPLINKS.length} uplinks in a sandbox of network namespaces (${sb.prefix}-*)`);
    for (const [i, step] of steps.entries()) {
      report.step(TITLES[i]!, i + 1);
      try {
        await step();
      } catch (err) {
        report.fail(err instanceof Error ? err.message.split('\n').slice(0, 3).join(' ') : String(err));
      }
      if (report.failed) {
        skipped = TITLES.slice(i + 1).map((t, k) => `${i + 2 + k}. ${t}`);
        break;
      }
    }
  } finally {
    if (!interrupted) {
      report.step(opts.keep ? 'Keep the sandbox (--keep)' : 'Remove the sandbox', TITLES.length + 1);
      if (opts.keep) {
        report.note(`Enter the host: nsenter --target=${sb.host?.holderPid ?? '?'} --mount --net`);
        report.note(`A router or the internet: ip netns exec ${sb.prefix}-r0 … / ${sb.prefix}-i …; logs: ${sb.dir}`);
        report.note('Remove it: multihomed-routing demo --cleanup (the next demo run removes it too).');
      } else {
        const left = await removeSandbox();
        report.check(left.length === 0, 'namespaces, processes, the host\'s /etc and /run, the temp dir: all gone', left.join(', '));
      }
    }
    for (const s of signals) process.off(s, onSignal);
  }
  return report.finish(skipped);

  async function linkFlags(ifname: string): Promise<string[]> {
    return (await sb.host.ipJson<Array<{ flags: string[] }>>(['link', 'show', 'dev', ifname]))[0]?.flags ?? [];
  }
}

/** The interface whose table the first `from ADDRESS` rule looks up. */
function firstOwner(rules: Rule[], managed: Managed[], address: string): string {
  const first = rules.filter((r) => r.src === address).sort((a, b) => a.priority - b.priority)[0];
  return managed.find((m) => m.table === first?.table)?.ifname ?? '?';
}

function missingPrograms(): string[] {
  const dirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  return Object.entries(NEEDS)
    .filter(([prog]) => !dirs.some((d) => fs.existsSync(`${d}/${prog}`)))
    .map(([prog, pkg]) => `${prog} (Debian: ${pkg})`);
}

function tail(file: string): string {
  try {
    return lines(fs.readFileSync(file, 'utf8')).slice(-3).join(' / ');
  } catch {
    return '';
  }
}

/**
 * The executable the hooks run: this one (process.execPath) when it is the
 * single executable; otherwise (node dist/multihomed-routing.cjs) a small
 * wrapper script in the host's /etc that runs the bundle with this node.
 */
function executable(sb: Sandbox): { path: string; wrapper: boolean; install(): void } {
  const plain = (p: string) => /^\/[A-Za-z0-9_./+-]+$/.test(p);
  if (sea.isSea()) {
    if (!plain(process.execPath)) throw new Error(`the executable's path must be plain (no spaces or quotes): ${process.execPath}`);
    return { path: process.execPath, wrapper: false, install() {} };
  }
  const wrapper = '/etc/multihomed-routing/demo-executable';
  const [node, bundle] = [process.execPath, process.argv[1] ?? ''];
  if (!plain(node) || !plain(bundle)) throw new Error(`paths must be plain (no spaces or quotes): ${node} ${bundle}`);
  return {
    path: wrapper,
    wrapper: true,
    install: () => sb.host.writeFile(wrapper, `#!/bin/sh\nexec ${node} ${bundle} "$@"\n`, 0o755),
  };
}
