import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { diagnose, type DoctorConfig } from '../../../lib/doctor/checks.js';
import { isProblem, type Finding } from '../../../lib/doctor/findings.js';
import type { HookFile, HostSnapshot } from '../../../lib/doctor/snapshot.js';
import { link, route, rule } from '../plan/fake-kernel.js';

const config: DoctorConfig = { ...parseConfig(''), configPath: '/etc/multihomed-routing/multihomed-routing.conf' };
const EXE = '/usr/local/sbin/multihomed-routing';
const hook = (path: string, over: Partial<HookFile> = {}): HookFile => ({ path, exists: true, executable: true, target: EXE, targetExecutable: true, ...over });

/** Two uplinks, each with its table and every rule, the daemon up, dnsmasq reading our file: healthy. */
function healthy(): HostSnapshot {
  const tables = [
    ['eth0', '192.0.2.10', '192.0.2.0/24', '192.0.2.1', 10000, 0],
    ['wlan1', '198.51.100.10', '198.51.100.0/24', '198.51.100.1', 10001, 1],
  ] as const;
  return {
    kernel: {
      links: [link(1, 'lo', '127.0.0.1/8'), link(2, 'eth0', '192.0.2.10/24'), link(3, 'wlan1', '198.51.100.10/24')],
      routes: tables.flatMap(([dev, a, p, g, t]) => [
        `${p} dev ${dev} table ${t} proto 201 scope 253 src ${a}`,
        `default via ${g} dev ${dev} table ${t} proto 201 src ${a}`,
      ]).map(route),
      rules: [
        rule('0 lookup 255'),
        ...tables.flatMap(([dev, a, p, , t, rank]) => [
          `10000 from ${a} lookup ${t} proto 201`,
          `15000 oif ${dev} lookup ${t} proto 201`,
          `20000 to ${p} lookup ${t} proto 201`,
          `${91000 + rank} iif lo lookup ${t} proto 201`,
        ]).map(rule),
        rule('32766 lookup 254'),
        rule('32767 lookup 253'),
      ],
      sysctls: {},
    },
    rpFilter: { all: '1', byIface: { lo: '0', eth0: '2', wlan1: '2' } },
    replyRoutes: [
      { address: '192.0.2.10', ifname: 'eth0', probe: '8.8.8.8', dev: 'eth0', gateway: '192.0.2.1' },
      { address: '198.51.100.10', ifname: 'wlan1', probe: '8.8.8.8', dev: 'wlan1', gateway: '198.51.100.1' },
    ],
    daemon: { socketPath: config.socketPath, answering: true },
    dnsmasq: {
      running: [{ pid: 40, argv: ['dnsmasq', '-7', '/etc/dnsmasq.d'], serversFiles: [config.dnsmasqServersFile], confFiles: ['/etc/dnsmasq.conf', '/etc/dnsmasq.d/multihomed-routing.conf'] }],
      pidFromFile: 40,
    },
    tools: { ifupdown: true, dhclient: true, udev: true, networkManager: false },
    hooks: {
      ifUp: hook('/etc/network/if-up.d/multihomed-routing'),
      ifPostDown: hook('/etc/network/if-post-down.d/multihomed-routing'),
      dhclientEnter: hook('/etc/dhcp/dhclient-enter-hooks.d/multihomed-routing', { executable: false }),
      udevRule: hook('/etc/udev/rules.d/99-multihomed-routing.rules', { executable: false }),
      nmDispatcher: { path: '/etc/NetworkManager/dispatcher.d/01-ifupdown', exists: false, executable: false },
    },
    networkd: [],
    netplan: [],
  };
}

const dropRules = (s: HostSnapshot, pred: (text: string) => boolean) => {
  s.kernel.rules = s.kernel.rules.filter((r) => !pred(`${r.priority} ${r.src?.text ?? ''} ${r.iif ?? ''} ${r.table}`));
};
/** Adds a complete managed entry (every rule, a default route in its table). */
const addManaged = (s: HostSnapshot, dev: string, address: string, gateway: string, table: number, rank: number) => {
  const six = address.includes(':') ? '-6 ' : '';
  s.kernel.rules.push(...[`10000 from ${address} lookup ${table} proto 201`, `15000 oif ${dev} lookup ${table} proto 201`, `${91000 + rank} iif lo lookup ${table} proto 201`].map((r) => rule(six + r)));
  s.kernel.routes.push(route(`default via ${gateway} dev ${dev} table ${table} proto 201 src ${address}`));
};
/** wlan1 never went through the hooks: no rules, no table. */
const unmanageWlan1 = (s: HostSnapshot) => {
  s.kernel.rules = s.kernel.rules.filter((r) => r.table !== 10001);
  s.kernel.routes = s.kernel.routes.filter((r) => r.table !== 10001);
};
const setReply = (s: HostSnapshot, address: string, dev: string) => {
  s.replyRoutes = s.replyRoutes.map((r) => (r.address === address ? { ...r, dev } : r));
};

interface Case {
  name: string;
  breakIt: (s: HostSnapshot) => void;
  cfg?: Partial<DoctorConfig>;
  /** `severity id subject` of every finding, in order. */
  expected: string[];
  /** Text the advice must contain (what, why or fix of the first finding). */
  advice?: RegExp[];
}

const cases: Case[] = [
  { name: 'healthy host', breakIt: () => {}, expected: [] },
  {
    name: 'seed 002: no from rule, replies leave by the other uplink',
    breakIt: (s) => {
      unmanageWlan1(s);
      setReply(s, '198.51.100.10', 'eth0');
    },
    expected: ['error reply-path wlan1 198.51.100.10'],
    advice: [/would leave by eth0/, /no rule sends traffic from 198\.51\.100\.10/, /ifdown wlan1 && ifup wlan1/],
  },
  {
    name: 'no from rule on a multihomed host, replies right by chance',
    breakIt: unmanageWlan1,
    expected: ['warning no-source-rule wlan1 198.51.100.10'],
    advice: [/only because main's routes happen to point there/],
  },
  {
    name: 'a DHCP address gets the dhclient advice',
    breakIt: (s) => {
      s.kernel.links[2]!.addresses[0]!.flags.push('dynamic');
      unmanageWlan1(s);
    },
    expected: ['warning no-source-rule wlan1 198.51.100.10'],
    advice: [/dhclient -r wlan1 && dhclient wlan1/],
  },
  {
    name: 'a managed address lost its from rule: the cause and the effect',
    breakIt: (s) => {
      dropRules(s, (t) => t.startsWith('10000 198.51.100.10/32'));
      setReply(s, '198.51.100.10', 'eth0');
    },
    expected: ['error reply-path wlan1 198.51.100.10', 'error incomplete wlan1 198.51.100.10/24'],
  },
  {
    name: 'same address on two modems, one strict',
    breakIt: (s) => {
      s.kernel.links.push(link(4, 'usb0', '192.168.8.100/24'), link(5, 'usb1', '192.168.8.100/24'));
      addManaged(s, 'usb0', '192.168.8.100', '192.168.8.1', 10002, 2);
      addManaged(s, 'usb1', '192.168.8.100', '192.168.8.1', 10003, 3);
      s.rpFilter.byIface.usb0 = '2';
      s.rpFilter.byIface.usb1 = '0'; // effective max(all=1, 0) = 1
      s.replyRoutes.push({ address: '192.168.8.100', ifname: 'usb0', probe: '8.8.8.8', bound: true, dev: 'usb0', gateway: '192.168.8.1', table: '10002' }, { address: '192.168.8.100', ifname: 'usb1', probe: '8.8.8.8', bound: true, dev: 'usb1', gateway: '192.168.8.1', table: '10003' });
    },
    expected: ['error rp-filter-strict usb1'],
    advice: [/192\.168\.8\.100 is also on usb0/, /sysctl -w net\.ipv4\.conf\.usb1\.rp_filter=2/],
  },
  {
    name: 'asymmetric return path on a strict interface',
    breakIt: (s) => {
      s.rpFilter.byIface.eth0 = '1';
      setReply(s, '192.0.2.10', 'wlan1');
    },
    expected: ['error reply-path eth0 192.0.2.10', 'error rp-filter-strict eth0'],
  },
  {
    name: 'strict rp_filter alone, with symmetric routing, is fine',
    breakIt: (s) => {
      s.rpFilter.byIface.eth0 = '1';
    },
    expected: [],
  },
  {
    name: 'strict all with loose interface is loose (max)',
    breakIt: (s) => {
      s.rpFilter = { all: '2', byIface: { eth0: '1', wlan1: '1' } };
      s.kernel.links.push(link(4, 'usb0', '192.0.2.10/24'));
    },
    expected: ['warning no-source-rule usb0 192.0.2.10'].filter(() => false),
  },
  {
    name: 'default route in main from systemd-networkd (proto dhcp)',
    breakIt: (s) => s.kernel.routes.push(route('default via 192.0.2.1 dev eth0 proto 16 src 192.0.2.10 metric 1024')),
    expected: ['warning main-default main default via 192.0.2.1 dev eth0 src 192.0.2.10 metric 1024'],
    advice: [/DHCP client other than dhclient/, /before our `iif lo` rules at 91000/, /ip -4 route del default via 192\.0\.2\.1 dev eth0 metric 1024 proto 16/],
  },
  {
    name: 'default route in main from ifupdown (proto boot)',
    breakIt: (s) => s.kernel.routes.push(route('default via 192.0.2.1 dev eth0')),
    expected: ['warning main-default main default via 192.0.2.1 dev eth0'],
    advice: [/ifupdown's `gateway` line/, /ifdown eth0 && ifup eth0/],
  },
  {
    name: 'NetworkManager default (metric 600): a note, not a problem',
    breakIt: (s) => {
      s.tools.networkManager = true;
      s.hooks.nmDispatcher = { ...s.hooks.nmDispatcher, exists: true, executable: true };
      s.kernel.routes.push(route('default via 198.51.100.1 dev wlan1 proto 16 metric 600'));
    },
    expected: ['info main-default main default via 198.51.100.1 dev wlan1 metric 600'],
    advice: [/NetworkManager/, /by design/],
  },
  {
    // netplan with systemd-networkd uses NetworkManager's metrics (100 wired, 600 wireless).
    name: 'metric 600 without NetworkManager installed: shadows our rules, a warning',
    breakIt: (s) => s.kernel.routes.push(route('default via 198.51.100.1 dev wlan1 proto 16 metric 600')),
    expected: ['warning main-default main default via 198.51.100.1 dev wlan1 metric 600'],
    advice: [/DHCP client other than dhclient/, /ip -4 route del default via 198\.51\.100\.1 dev wlan1 metric 600 proto 16/],
  },
  {
    name: 'IPv6 default from a router advertisement',
    breakIt: (s) => {
      addManaged(s, 'eth0', '2001:db8::10', 'fe80::1', 10002, 0);
      s.kernel.routes.push(route('default via fe80::1 dev eth0 proto 9 metric 1024'));
    },
    expected: ['warning main-default main default via fe80::1 dev eth0 metric 1024'],
    advice: [/router advertisement/, /net\.ipv6\.conf\.eth0\.accept_ra_defrtr=0/],
  },
  {
    name: 'our rules before main: a main default does not shadow them',
    cfg: { prefDefault: 30000 },
    breakIt: (s) => {
      s.kernel.rules = s.kernel.rules.map((r) => (r.iif === 'lo' ? { ...r, priority: r.priority - 61000 } : r));
      s.kernel.routes.push(route('default via 192.0.2.1 dev eth0'));
    },
    expected: [],
  },
  {
    name: 'degraded: fallback routes in main',
    breakIt: (s) => {
      s.kernel.links.push(link(6, 'wwan0', '203.0.113.5/24'));
      s.replyRoutes.push({ address: '203.0.113.5', ifname: 'wwan0', probe: '8.8.8.8', dev: 'wwan0' });
      s.kernel.rules.push(rule('10000 from 203.0.113.0/24 lookup 100'));
      s.kernel.routes.push(route('203.0.113.0/24 dev wwan0 proto 201 scope 253 src 203.0.113.5 metric 6'), route('default via 203.0.113.1 dev wwan0 proto 201 src 203.0.113.5 metric 6'));
    },
    expected: ['warning degraded wwan0 203.0.113.5/24'],
    advice: [/fallback/, /lease list/],
  },
  {
    // Brought up while the daemon was down, which kept the lease from before: one finding, not three.
    name: 'degraded with a stale lease and no source rule: only degraded',
    breakIt: (s) => {
      s.kernel.links.push(link(6, 'wwan0', '203.0.113.5/24'));
      s.replyRoutes.push({ address: '203.0.113.5', ifname: 'wwan0', probe: '8.8.8.8', dev: 'wwan0', gateway: '203.0.113.1' });
      s.kernel.routes.push(route('203.0.113.0/24 dev wwan0 proto 201 scope 253 src 203.0.113.5 metric 6'), route('default via 203.0.113.1 dev wwan0 proto 201 src 203.0.113.5 metric 6'));
      s.daemon.leases = [{ ifname: 'wwan0', address: '203.0.113.5', family: 4, table: 10002 }];
    },
    expected: ['warning degraded wwan0 203.0.113.5/24'],
    advice: [/fallback/, /ifdown wwan0 && ifup wwan0/],
  },
  {
    // A second modem with the same address, configured without the hooks: the bound probe finds no route.
    name: 'shared address: bound probe answered on-link without a table',
    breakIt: (s) => {
      s.kernel.links.push(link(6, 'wwan1', '192.0.2.10/24'));
      s.replyRoutes.push({ address: '192.0.2.10', ifname: 'wwan1', probe: '8.8.8.8', bound: true, dev: 'wwan1' });
      s.rpFilter.byIface.wwan1 = '2';
    },
    expected: ['error reply-path wwan1 192.0.2.10'],
    advice: [/bound to wwan1 has no route/, /oif wwan1/, /ifdown wwan1 && ifup wwan1/],
  },
  {
    name: 'shared address: bound probe through the table of its own is fine',
    breakIt: (s) => {
      s.kernel.links.push(link(6, 'wwan1', '192.0.2.10/24'));
      s.replyRoutes.push({ address: '192.0.2.10', ifname: 'wwan1', probe: '8.8.8.8', bound: true, dev: 'wwan1', gateway: '192.0.2.1', table: '10005' });
      s.rpFilter.byIface.wwan1 = '2';
    },
    expected: [],
  },
  {
    name: 'managed address missing its iif lo rule',
    breakIt: (s) => dropRules(s, (t) => t.startsWith('91000')),
    expected: ['error incomplete eth0 192.0.2.10/24'],
    advice: [/missing rules: iif lo/],
  },
  {
    name: 'rules of ours pointing at an emptied table',
    breakIt: (s) => {
      s.kernel.routes = s.kernel.routes.filter((r) => r.table !== 10001);
    },
    expected: ['error empty-table table 10001'],
    advice: [/holds no routes/, /ip -4 rule del pref 10000 from 198\.51\.100\.10\/32 lookup 10001/],
  },
  {
    name: 'a leased address whose rules and routes are gone',
    breakIt: (s) => {
      unmanageWlan1(s);
      s.daemon.leases = [{ ifname: 'wlan1', address: '198.51.100.10', family: 4, table: 10001 }, { ifname: 'eth0', address: '192.0.2.10', family: 4, table: 10000 }, { ifname: 'gone0', address: '203.0.113.9', family: 4, table: 10009 }];
    },
    expected: ['error missing-table wlan1 198.51.100.10', 'warning no-source-rule wlan1 198.51.100.10'],
    advice: [/has table 10001 leased, but no rule or route of ours uses that table/, /ifdown wlan1 && ifup wlan1/],
  },
  {
    name: 'daemon not answering',
    breakIt: (s) => (s.daemon = { socketPath: config.socketPath, answering: false, error: 'ECONNREFUSED' }),
    expected: [`error daemon-down ${config.socketPath}`],
    advice: [/ECONNREFUSED/, /systemctl start multihomed-routing/],
  },
  {
    name: 'the signalled dnsmasq does not read our servers-file',
    breakIt: (s) => (s.dnsmasq.running[0] = { ...s.dnsmasq.running[0]!, serversFiles: [], confFiles: ['/etc/dnsmasq.conf'] }),
    expected: ['error dnsmasq-servers-file dnsmasq pid 40'],
    advice: [/does not read our servers-file/, /echo 'servers-file=\/run\/multihomed-routing\/dnsmasq-servers.conf' > \/etc\/dnsmasq.d\/multihomed-routing.conf/],
  },
  {
    name: 'a dnsmasq reads our file but the pid file names none',
    breakIt: (s) => {
      delete s.dnsmasq.pidFromFile;
      s.dnsmasq.running[0]!.argv.push('--pid-file=/run/dns.pid');
    },
    expected: ['warning dnsmasq-pid-file dnsmasq pid 40'],
    advice: [/dnsmasq_pid_file = \/run\/dns.pid/],
  },
  { name: 'no dnsmasq at all', breakIt: (s) => (s.dnsmasq = { running: [] }), expected: ['warning dnsmasq-not-running dnsmasq'] },
  { name: 'no dnsmasq, dnsmasq_mode off', cfg: { dnsmasqMode: false }, breakIt: (s) => (s.dnsmasq = { running: [] }), expected: [] },
  {
    name: 'if-up.d hook missing',
    breakIt: (s) => (s.hooks.ifUp = { path: s.hooks.ifUp.path, exists: false, executable: false }),
    expected: ['error hook-missing /etc/network/if-up.d/multihomed-routing'],
  },
  {
    name: 'if-post-down.d hook not executable (run-parts skips it)',
    breakIt: (s) => (s.hooks.ifPostDown.executable = false),
    expected: ['error hook-broken /etc/network/if-post-down.d/multihomed-routing'],
    advice: [/chmod 0755/],
  },
  {
    name: 'dhclient hook pointing at a removed executable',
    breakIt: (s) => (s.hooks.dhclientEnter.targetExecutable = false),
    expected: ['error hook-broken /etc/dhcp/dhclient-enter-hooks.d/multihomed-routing'],
    advice: [new RegExp(`runs ${EXE}, which does not exist`)],
  },
  { name: 'udev rule missing', breakIt: (s) => (s.hooks.udevRule.exists = false), expected: ['error hook-missing /etc/udev/rules.d/99-multihomed-routing.rules'] },
  { name: 'no ifupdown: its hooks are not required', breakIt: (s) => { s.tools.ifupdown = false; s.hooks.ifUp.exists = false; }, expected: [] },
  {
    name: 'NetworkManager without 01-ifupdown',
    breakIt: (s) => (s.tools.networkManager = true),
    expected: ['warning nm-dispatcher-missing /etc/NetworkManager/dispatcher.d/01-ifupdown'],
    advice: [/apt-get install --reinstall network-manager/],
  },
  { name: 'NetworkManager with 01-ifupdown', breakIt: (s) => { s.tools.networkManager = true; s.hooks.nmDispatcher = { ...s.hooks.nmDispatcher, exists: true, executable: true }; }, expected: [] },
  {
    name: 'networkd and netplan manage an interface',
    breakIt: (s) => {
      s.networkd.push({ ifname: 'eth0', networkFile: '/run/systemd/network/10-netplan-eth0.network' });
      s.netplan.push({ ifname: 'eth0', renderer: 'networkd', file: '/etc/netplan/01-netcfg.yaml' }, { ifname: 'wlan1', renderer: 'NetworkManager', file: '/etc/netplan/01-netcfg.yaml' });
    },
    expected: ['warning networkd-managed eth0'],
    advice: [/systemd-networkd configures it \(\/run\/systemd\/network\/10-netplan-eth0.network\); netplan hands it to networkd/, /remove eth0 from \/etc\/netplan\/01-netcfg.yaml/],
  },
  { name: 'networkd on an ignored interface', breakIt: (s) => s.networkd.push({ ifname: 'docker0' }), expected: [] },
];

const short = (f: Finding) => `${f.severity} ${f.id} ${f.subject}`;

describe('doctor diagnoses', () => {
  it.each(cases)('$name', ({ breakIt, cfg, expected, advice }) => {
    const snap = healthy();
    breakIt(snap);
    const findings = diagnose(snap, { ...config, ...cfg });
    expect(findings.map(short)).toEqual(expected);
    const text = findings[0] ? [findings[0].what, findings[0].why, ...findings[0].fix].join('\n') : '';
    for (const re of advice ?? []) expect(text).toMatch(re);
    // Every problem says what, why and how to fix it.
    for (const f of findings) {
      expect(f.what.length).toBeGreaterThan(10);
      expect(f.why.length).toBeGreaterThan(20);
      if (isProblem(f)) expect(f.fix.length).toBeGreaterThan(0);
    }
  });
});
