// `doctor` on a real host: a namespaced host with two uplinks configured by
// real ifup through our hooks, then one broken state after another — each
// created the way it happens in the field, diagnosed by the executable, and
// (where the advice is a command) repaired by running the advice itself.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, waitFor, type SpawnedProcess, type TestBed } from '../helpers/testbed.js';
import { CONFIG, EXE, ROOT, cli, ourRules, setUpRoutingHost, type RoutingHost } from './routing-host.js';

const INTERFACES = `
iface eth0 inet static
    address 10.7.0.2/24
    gateway 10.7.0.1

iface wlan1 inet static
    address 10.7.1.2/24
    gateway 10.7.1.1
`;
const SERVERS_FILE = '/run/multihomed-routing/dnsmasq-servers.conf';

interface Finding { id: string; severity: string; subject: string; what: string; why: string; fix: string[] }
interface Report { code: number; healthy: boolean; findings: Finding[]; problems: string[]; stdout: string }

describe('doctor diagnoses broken states on a live host', () => {
  let bed: TestBed;
  let rh: RoutingHost;
  let dnsmasq: SpawnedProcess | undefined;

  /** Runs `doctor --json`; `problems` lists `id subject` of every error and warning. */
  const doctor = async (): Promise<Report> => {
    const r = await cli(bed.host, ['doctor', '--json']);
    if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`doctor failed (${r.exitCode}): ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { healthy: boolean; findings: Finding[] };
    return { code: r.exitCode, ...out, problems: out.findings.filter((f) => f.severity !== 'info').map((f) => `${f.id} ${f.subject}`), stdout: r.stdout };
  };
  const only = async (id: string): Promise<Finding> => {
    const rep = await doctor();
    expect(rep.code, rep.stdout).toBe(1);
    const found = rep.findings.filter((f) => f.id === id);
    expect(found, rep.stdout).toHaveLength(1);
    return found[0]!;
  };
  /** Runs the advice's commands in the host, as an operator would paste them. */
  const runFix = async (f: Finding) => {
    // `multihomed-routing` is on an operator's PATH (/usr/local/sbin); here it is the built executable.
    for (const line of f.fix.filter((l) => !l.startsWith('#'))) await bed.host.exec(['sh', '-ec', line.replace(/^multihomed-routing /, `${EXE} `)]);
  };
  const expectHealthy = async () => {
    const rep = await doctor();
    expect(rep.problems, rep.stdout).toEqual([]);
    expect(rep.code).toBe(0);
  };
  /**
   * Writes a file through the host's own mount namespace. (host.writeEtc writes the overlay's
   * upper directory behind its back: a path the host already looked up and found missing stays
   * missing for it — the overlay caches the negative lookup.)
   */
  const write = async (file: string, content: string, mode = '0644') => {
    await bed.host.exec(['sh', '-ec', 'mkdir -p "$(dirname "$1")"; cat > "$1"; chmod "$2" "$1"', 'sh', file, mode], { input: content });
  };
  const startDnsmasq = async () => {
    dnsmasq = bed.host.spawn(['dnsmasq', '-k', '-x', '/run/dnsmasq/dnsmasq.pid', '-7', '/etc/dnsmasq.d,.dpkg-dist', '--user=root', '--port=0'], { logName: 'host-dnsmasq' });
    await waitUntil(async () => (await bed.host.exec(['cat', '/run/dnsmasq/dnsmasq.pid'], { reject: false })).exitCode === 0);
  };
  const stopDnsmasq = async () => {
    dnsmasq?.kill();
    await dnsmasq?.exited;
    await bed.host.exec(['rm', '-f', '/run/dnsmasq/dnsmasq.pid']);
  };

  beforeAll(async () => {
    bed = await createTestBed({
      name: 'doctor',
      routers: [
        { hostIfname: 'eth0', nat: false, ipv4: { subnet: '10.7.0.0/24', address: '10.7.0.1' } },
        { hostIfname: 'wlan1', nat: false, ipv4: { subnet: '10.7.1.0/24', address: '10.7.1.1' } },
      ],
    });
    // watch_kernel off: the daemon's watcher repairs flushed tables and deleted rules within
    // moments, which would race the broken states below (a host without the watcher keeps them).
    // dnsmasq_mode = yes: the dnsmasq findings of that mode (auto's are in dns-default.test.ts).
    rh = await setUpRoutingHost(bed, INTERFACES, `dnsmasq_servers_file = ${SERVERS_FILE}\nwatch_kernel = no\ndnsmasq_mode = yes\n`);
    // What the other installers put in place (dhclient shim, udev rule), pointing at the executable.
    await bed.host.writeEtc('dhcp/dhclient-enter-hooks.d/multihomed-routing', `mhr_exe='${EXE}'\n`);
    await bed.host.writeEtc('udev/rules.d/99-multihomed-routing.rules', `SUBSYSTEM=="net", ACTION=="remove", RUN+="${EXE} udev-remove"\n`);
    await bed.host.exec(['mkdir', '-p', '/run/dnsmasq', '/run/multihomed-routing']);
    await bed.host.exec(['touch', SERVERS_FILE]);
    for (const i of ['eth0', 'wlan1']) await bed.host.ifup(i);
  });
  afterAll(async () => {
    dnsmasq?.kill('SIGKILL');
    bed?.destroy();
  });

  test('dnsmasq: not running, then not reading our servers-file, then fixed by the advice', async () => {
    const missing = await only('dnsmasq-not-running');
    expect(missing.severity).toBe('warning');
    await write('/etc/dnsmasq.d/local.conf', 'no-resolv\n');
    await startDnsmasq();
    const wrong = await only('dnsmasq-servers-file');
    expect(wrong.what).toContain(`does not read our servers-file ${SERVERS_FILE}`);
    expect(wrong.fix[0]).toBe(`echo 'servers-file=${SERVERS_FILE}' > /etc/dnsmasq.d/multihomed-routing.conf`);
    await bed.host.exec(['sh', '-ec', wrong.fix[0]!]);
    await stopDnsmasq(); // the advice's `systemctl restart dnsmasq`
    await startDnsmasq();
    await expectHealthy();
  });

  test('healthy host: exit 0, the human report says so', async () => {
    const r = await cli(bed.host, ['doctor']);
    expect(r.stdout).toMatch(/^doctor: no problems found .*2 addresses on 2 interfaces checked/);
    expect(r.exitCode).toBe(0);
    expect((await cli(bed.host, ['doctor', '--bogus'])).exitCode).toBe(2);
  });

  test('seed 002: an address added without the hooks answers by the other uplink; strict rp_filter drops', async () => {
    await bed.host.exec(['ip', 'addr', 'add', '10.7.1.20/24', 'dev', 'wlan1']);
    await bed.host.setSysctl({ 'net.ipv4.conf.wlan1.rp_filter': 1 });
    // What the operator sees: the reply path really is wrong (eth0's router drops the foreign source).
    expect((await bed.host.routeGet('198.51.100.1', { from: '10.7.1.20' })).dev).toBe('eth0');
    expect(await bed.host.ping('198.51.100.1', { from: '10.7.1.20' })).toBe(false);
    const rep = await doctor();
    expect(rep.problems).toEqual(['reply-path wlan1 10.7.1.20', 'rp-filter-strict wlan1']);
    const [reply, rp] = rep.findings;
    expect(reply!.what).toBe('Replies from 10.7.1.20 (on wlan1) would leave by eth0 via 10.7.0.1.');
    expect(reply!.why).toContain('no rule sends traffic from 10.7.1.20 to a table of its own');
    expect(reply!.fix).toEqual(['ifdown wlan1 && ifup wlan1   # ifupdown runs the hooks again']);
    expect(rp!.what).toContain('effective rp_filter = max(all=1, wlan1=1) = 1');
    expect(rp!.fix[0]).toBe('sysctl -w net.ipv4.conf.wlan1.rp_filter=2');
    await runFix(rp!);
    expect(await bed.host.sysctl('net.ipv4.conf.wlan1.rp_filter')).toBe('2');
    await bed.host.exec(['ip', 'addr', 'del', '10.7.1.20/24', 'dev', 'wlan1']);
    await expectHealthy();
  });

  test('a default route in main is the last resort after the band: no finding; band rules of an older version (iif lo at 91000+) are shadowed, named, and moved by the next event', async () => {
    await bed.host.exec(['ip', 'route', 'add', 'default', 'via', '10.7.1.1', 'dev', 'wlan1', 'proto', 'dhcp', 'metric', '1024']);
    // The band (31000+) comes before main (32766): unbound traffic follows interface_priority.
    expect((await bed.host.routeGet('198.51.100.1')).dev).toBe('eth0');
    await expectHealthy();

    // The layout an older version left: `iif lo` at 91000+, after main, no suppress rule.
    const status = await rh.status();
    const tableOf = (ifname: string) => String(status.find((x) => x.ifname === ifname)!.table);
    for (const [pref, ifname] of [['31000', 'eth0'], ['31001', 'wlan1']] as const) {
      await bed.host.exec(['ip', 'rule', 'del', 'pref', pref, 'lookup', tableOf(ifname)]);
      await bed.host.exec(['ip', 'rule', 'add', 'pref', String(Number(pref) + 60000), 'iif', 'lo', 'lookup', tableOf(ifname), 'protocol', '201']);
    }
    await bed.host.exec(['ip', 'rule', 'del', 'pref', '30000', 'lookup', 'main', 'suppress_prefixlength', '0']);
    // Shadowing is real: unbound traffic leaves by wlan1 although eth0 comes first.
    expect((await bed.host.routeGet('198.51.100.1')).dev).toBe('wlan1');
    const rep = await doctor();
    const f = rep.findings.find((x) => x.id === 'main-default')!;
    expect(f.what).toContain('added by a DHCP client other than dhclient (proto dhcp');
    expect(f.why).toContain('main is looked up at priority 32766, before our band rules at 91001');
    expect(f.why).toContain('are moved by the next event or a daemon restart');
    // Any event of the family moves the whole band and brings the suppress rule back.
    await bed.host.exec(['sh', '-ec', 'ifdown eth0 && ifup eth0']);
    expect((await bed.host.routeGet('198.51.100.1')).dev).toBe('eth0');
    expect((await ourRules(bed.host, 4)).filter((r) => r.startsWith('3') || r.includes('iif'))).toEqual([
      '30000 lookup main suppress_prefixlength 0', `31000 lookup ${(await rh.status()).find((x) => x.ifname === 'eth0')!.table}`, `31001 lookup ${tableOf('wlan1')}`,
    ]);
    await expectHealthy();
    await bed.host.exec(['ip', 'route', 'del', 'default', 'via', '10.7.1.1', 'dev', 'wlan1', 'proto', 'dhcp', 'metric', '1024']);
    await expectHealthy();
  });

  test('a managed address missing a rule, and rules pointing at a flushed table; the advice rebuilds them', async () => {
    const [eth0] = (await rh.status()).filter((s) => s.ifname === 'eth0');
    await bed.host.exec(['ip', 'rule', 'del', 'pref', '31000', 'lookup', String(eth0!.table)]);
    const inc = await only('incomplete');
    expect(inc.subject).toBe('eth0 10.7.0.2/24');
    expect(inc.what).toContain('missing rules: band');
    await runFix(inc);
    await expectHealthy();

    const [wlan1] = (await rh.status()).filter((s) => s.ifname === 'wlan1');
    await bed.host.exec(['ip', 'route', 'flush', 'table', String(wlan1!.table)]);
    const empty = await only('empty-table');
    expect(empty.subject).toBe(`table ${wlan1!.table}`);
    expect(empty.fix).toContain(`ip -4 rule del pref 10000 from 10.7.1.2/32 lookup ${wlan1!.table}`);
    await runFix(empty);
    await expectHealthy();

    // Every rule and route of the table gone, the lease still held: the address is managed in name only.
    const [again] = (await rh.status()).filter((s) => s.ifname === 'wlan1');
    await bed.host.exec(['ip', 'route', 'flush', 'table', String(again!.table)]);
    for (const pref of ['10000', '15000', '20000', '31001']) await bed.host.exec(['ip', 'rule', 'del', 'pref', pref, 'lookup', String(again!.table)]);
    const rep = await doctor();
    expect(rep.problems).toEqual(['reply-path wlan1 10.7.1.2', 'missing-table wlan1 10.7.1.2']);
    const missing = rep.findings.find((f) => f.id === 'missing-table')!;
    expect(missing.what).toBe(`10.7.1.2 on wlan1 has table ${again!.table} leased, but no rule or route of ours uses that table.`);
    await runFix(missing);
    await expectHealthy();
  });

  test('the daemon not answering', async () => {
    await rh.stopDaemon();
    try {
      const f = await only('daemon-down');
      expect(f.subject).toBe('/run/multihomed-routing/allocator/allocator.sock');
      expect(f.fix[0]).toBe('systemctl start multihomed-routing   # systemd');
    } finally {
      await rh.startDaemon();
    }
    await expectHealthy();
  });

  test('no-source-rule: an interface brought up while the if-up hook was missing; the advice rebuilds it', async () => {
    await bed.host.exec(['mv', '/etc/network/if-up.d/multihomed-routing', '/run/saved-up-hook']);
    await bed.host.ifdown('wlan1');
    await bed.host.ifup('wlan1');
    // ifupdown's `gateway` line put wlan1's default into main, the last resort: the band (eth0 first) sends replies from 10.7.1.2 out of eth0.
    expect((await bed.host.routeGet('198.51.100.1', { from: '10.7.1.2' })).dev).toBe('eth0');
    expect(await bed.host.exec(['ip', 'rule', 'show', 'from', '10.7.1.2'])).toMatchObject({ stdout: '' });
    const rep = await doctor();
    // Strict rp_filter (ifdown restored it) drops wlan1's replies too: the return path is asymmetric.
    expect(rep.problems).toEqual([
      'reply-path wlan1 10.7.1.2',
      'rp-filter-strict wlan1',
      'hook-missing /etc/network/if-up.d/multihomed-routing',
    ]);
    const f = rep.findings.find((x) => x.id === 'reply-path')!;
    expect(f.severity).toBe('error');
    expect(f.what).toBe('Replies from 10.7.1.2 (on wlan1) would leave by eth0 via 10.7.0.1.');
    expect(f.why).toContain('no rule sends traffic from 10.7.1.2 to a table of its own');
    expect(f.fix).toEqual(['ifdown wlan1 && ifup wlan1   # ifupdown runs the hooks again']);
    await bed.host.exec(['mv', '/run/saved-up-hook', '/etc/network/if-up.d/multihomed-routing']);
    await runFix(f);
    expect(await bed.host.exec(['ip', 'rule', 'show', 'from', '10.7.1.2'])).toMatchObject({ stdout: expect.stringContaining('from 10.7.1.2 lookup') });
    await expectHealthy();
  });

  test('degraded: an uplink brought up while the daemon is down falls back to main; the advice restores its table', async () => {
    await rh.stopDaemon();
    try {
      await bed.host.ifdown('wlan1');
      await bed.host.ifup('wlan1');
      const [link] = await bed.host.ipJson<{ ifindex: number }[]>(['link', 'show', 'wlan1']);
      // The fallback: routes of ours in main, metric = interface index.
      expect(await bed.host.routes('main')).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.7.1.1', dev: 'wlan1', protocol: '201', metric: link!.ifindex }));
      const rep = await doctor();
      expect(rep.problems).toEqual(expect.arrayContaining(['degraded wlan1 10.7.1.2/24', 'daemon-down /run/multihomed-routing/allocator/allocator.sock']));
      const f = rep.findings.find((x) => x.id === 'degraded')!;
      expect(f.severity).toBe('warning');
      expect(f.what).toBe('10.7.1.2/24 on wlan1 runs on the fallback: routes in main with metric = interface index, no table; traffic from it looks main up (`from 10.7.1.2 lookup main`).');
      // Which the kernel follows: replies from the degraded address leave by its own interface, not by the band's eth0.
      expect((await bed.host.routeGet('198.51.100.1', { from: '10.7.1.2' })).dev).toBe('wlan1');
      expect(f.fix).toEqual(['multihomed-routing lease list   # is the daemon answering? are tables left?', 'ifdown wlan1 && ifup wlan1   # ifupdown runs the hooks again']);
      expect(rep.problems, 'one finding for the degraded address, not a second one for its missing rule').toHaveLength(2);
    } finally {
      await rh.startDaemon();
    }
    const f = (await doctor()).findings.find((x) => x.id === 'degraded')!;
    await runFix(f);
    expect((await bed.host.routes('main')).filter((r) => r.dst === 'default')).toEqual([]);
    await expectHealthy();
  });

  test('dnsmasq-pid-file: the dnsmasq reading our servers-file is not the one in dnsmasq_pid_file; the advice points the config at it', async () => {
    await stopDnsmasq();
    // Another start-up (a custom unit) with its own pid file; the configured one is stale.
    await bed.host.exec(['sh', '-ec', 'echo 999999 > /run/dnsmasq/dnsmasq.pid']);
    dnsmasq = bed.host.spawn(['dnsmasq', '-k', '-x', '/run/dnsmasq-uplinks.pid', '-7', '/etc/dnsmasq.d,.dpkg-dist', '--user=root', '--port=0'], { logName: 'host-dnsmasq' });
    await waitUntil(async () => (await bed.host.exec(['cat', '/run/dnsmasq-uplinks.pid'], { reject: false })).exitCode === 0);
    const f = await only('dnsmasq-pid-file');
    expect(f.severity).toBe('warning');
    expect(f.subject).toBe(`dnsmasq pid ${dnsmasq.pid}`);
    expect(f.what).toBe(`dnsmasq pid ${dnsmasq.pid} reads ${SERVERS_FILE}, but dnsmasq_pid_file (/run/dnsmasq/dnsmasq.pid) does not name it.`);
    expect(f.fix).toEqual([expect.stringMatching(/^# in \S+multihomed-routing.conf: dnsmasq_pid_file = \/run\/dnsmasq-uplinks.pid$/)]);
    // The advice, applied: the config names the pid file of the dnsmasq that reads ours.
    const conf = await bed.host.readFile(CONFIG);
    await write(CONFIG, `${conf}dnsmasq_pid_file = /run/dnsmasq-uplinks.pid\n`);
    try {
      await expectHealthy();
    } finally {
      await write(CONFIG, conf);
      await stopDnsmasq();
      await bed.host.exec(['rm', '-f', '/run/dnsmasq-uplinks.pid']);
      await startDnsmasq();
    }
    await expectHealthy();
  });

  test('hooks missing or broken, NetworkManager without 01-ifupdown, networkd managing an interface', async () => {
    await bed.host.exec(['mv', '/etc/dhcp/dhclient-enter-hooks.d/multihomed-routing', '/run/saved-hook']);
    expect((await only('hook-missing')).subject).toBe('/etc/dhcp/dhclient-enter-hooks.d/multihomed-routing');
    await bed.host.exec(['mv', '/run/saved-hook', '/etc/dhcp/dhclient-enter-hooks.d/multihomed-routing']);

    const upHook = await bed.host.readFile('/etc/network/if-up.d/multihomed-routing');
    await write('/etc/network/if-up.d/multihomed-routing', '#!/bin/sh\nexec /usr/local/sbin/gone/multihomed-routing ifupdown\n', '0755');
    const broken = await only('hook-broken');
    expect(broken.what).toBe('/etc/network/if-up.d/multihomed-routing runs /usr/local/sbin/gone/multihomed-routing, which does not exist or is not executable.');
    await write('/etc/network/if-up.d/multihomed-routing', upHook, '0755');

    await write('/etc/NetworkManager/NetworkManager.conf', '[main]\nplugins=ifupdown,keyfile\n');
    const nm = await only('nm-dispatcher-missing');
    expect(nm.fix[0]).toContain('apt-get install --reinstall network-manager');
    await write('/etc/NetworkManager/dispatcher.d/01-ifupdown', '#!/bin/sh\n', '0755');
    await expectHealthy();

    const [link] = await bed.host.ipJson<{ ifindex: number }[]>(['link', 'show', 'wlan1']);
    await write(`/run/systemd/netif/links/${link!.ifindex}`, 'ADMIN_STATE=configured\nNETWORK_FILE=/run/systemd/network/10-netplan-wlan1.network\n');
    await write('/etc/netplan/01-netcfg.yaml', 'network:\n  version: 2\n  ethernets:\n    wlan1:\n      dhcp4: true\n');
    const nd = await only('networkd-managed');
    expect(nd.subject).toBe('wlan1');
    expect(nd.what).toBe('wlan1 is not configured by ifupdown: systemd-networkd configures it (/run/systemd/network/10-netplan-wlan1.network); netplan hands it to networkd (/etc/netplan/01-netcfg.yaml).');
    await bed.host.exec(['rm', '-r', '/run/systemd/netif', '/etc/netplan/01-netcfg.yaml']);
    await expectHealthy();
  });

  test('NetworkManager metrics in main (100 wired, 600 wireless): the band decides before them, no finding with or without NetworkManager', async () => {
    // NetworkManager (proto dhcp, its per-device-type metrics) — present since the previous test wrote its config.
    await bed.host.exec(['ip', 'route', 'add', 'default', 'via', '10.7.0.1', 'dev', 'eth0', 'proto', 'dhcp', 'metric', '100']);
    await bed.host.exec(['ip', 'route', 'add', 'default', 'via', '10.7.1.1', 'dev', 'wlan1', 'proto', 'dhcp', 'metric', '600']);
    // Whatever NetworkManager's metrics say, interface_priority decides (eth0 first): wlan1's metric 600 route
    // is the last resort, and a lower metric on wlan1 would change nothing either.
    expect((await bed.host.routeGet('198.51.100.1')).dev).toBe('eth0');
    await bed.host.exec(['ip', 'route', 'del', 'default', 'via', '10.7.0.1', 'dev', 'eth0', 'metric', '100']);
    await bed.host.exec(['ip', 'route', 'add', 'default', 'via', '10.7.0.1', 'dev', 'eth0', 'proto', 'dhcp', 'metric', '700']);
    expect((await bed.host.routeGet('198.51.100.1')).dev).toBe('eth0');
    const rep = await doctor();
    expect(rep.code, rep.stdout).toBe(0);
    expect(rep.healthy).toBe(true);
    expect(rep.findings).toEqual([]);
    // The same metrics without NetworkManager installed (netplan with networkd uses them too): no finding either.
    await bed.host.exec(['rm', '/etc/NetworkManager/NetworkManager.conf', '/etc/NetworkManager/dispatcher.d/01-ifupdown']);
    await expectHealthy();
    for (const [gw, dev] of [['10.7.0.1', 'eth0'], ['10.7.1.1', 'wlan1']]) await bed.host.exec(['ip', 'route', 'del', 'default', 'via', gw!, 'dev', dev!]);
    await expectHealthy();
  });
});

// Two modems handing out the same 192.168.8.100 (each its own /64 for IPv6), both
// `inet static` / `inet6 static` stanzas brought up by real ifup through the hooks.
const MODEMS = ['wwan0', 'wwan1'].map((i, n) => `
iface ${i} inet static
    address 192.168.8.100/24
    gateway 192.168.8.1

iface ${i} inet6 static
    address 2001:db8:8${n}::100/64
    gateway 2001:db8:8${n}::1
`).join('');
const PROBES = ['--probe4', '198.51.100.1', '--probe6', '2001:db8:ffff::1'];

describe('doctor on two modems sharing an address, and IPv6', () => {
  let bed: TestBed;

  const doctor = async (): Promise<Report> => {
    const r = await cli(bed.host, ['doctor', '--json', ...PROBES]);
    if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`doctor failed (${r.exitCode}): ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { healthy: boolean; findings: Finding[] };
    return { code: r.exitCode, ...out, problems: out.findings.filter((f) => f.severity !== 'info').map((f) => `${f.id} ${f.subject}`), stdout: r.stdout };
  };
  const expectHealthy = async () => {
    const rep = await doctor();
    expect(rep.problems, rep.stdout).toEqual([]);
    expect(rep.code).toBe(0);
  };
  const runFix = async (f: Finding) => {
    for (const line of f.fix.filter((l) => !l.startsWith('#'))) await bed.host.exec(['sh', '-ec', line]);
  };

  beforeAll(async () => {
    bed = await createTestBed({
      name: 'doctormodem',
      routers: ['wwan0', 'wwan1'].map((hostIfname, n) => ({
        hostIfname,
        ipv4: { subnet: '192.168.8.0/24', address: '192.168.8.1' },
        ipv6: { subnet: `2001:db8:8${n}::/64`, address: `2001:db8:8${n}::1` },
      })),
    });
    await setUpRoutingHost(bed, MODEMS, 'dnsmasq_mode = no\nwatch_kernel = no\n');
    await bed.host.writeEtc('dhcp/dhclient-enter-hooks.d/multihomed-routing', `mhr_exe='${EXE}'\n`);
    await bed.host.writeEtc('udev/rules.d/99-multihomed-routing.rules', `SUBSYSTEM=="net", ACTION=="remove", RUN+="${EXE} udev-remove"\n`);
    for (const i of ['wwan0', 'wwan1']) await bed.host.ifup(i);
  });
  afterAll(() => bed?.destroy());

  test('healthy: each modem answers for the shared address through itself', async () => {
    expect(await bed.host.ping('198.51.100.1', { from: 'wwan1' })).toBe(true);
    expect(await bed.host.ping('198.51.100.1', { from: 'wwan0' })).toBe(true);
    await expectHealthy();
  });

  test('rp-filter-strict: strict rp_filter set back on one modem drops its replies; the advice restores them', async () => {
    // What a sysctl.d file re-applied after the hooks does.
    await bed.host.setSysctl({ 'net.ipv4.conf.wwan1.rp_filter': 1 });
    expect(await bed.host.ping('198.51.100.1', { from: 'wwan1' })).toBe(false);
    const rep = await doctor();
    expect(rep.problems).toEqual(['rp-filter-strict wwan1']);
    const f = rep.findings[0]!;
    expect(f.severity).toBe('error');
    expect(f.what).toBe('Strict reverse-path filtering on wwan1 (effective rp_filter = max(all=1, wwan1=1) = 1).');
    expect(f.why).toContain('192.168.8.100 is also on wwan0');
    expect(f.why).toContain('something set it back');
    expect(f.fix[0]).toBe('sysctl -w net.ipv4.conf.wwan1.rp_filter=2');
    await runFix(f);
    expect(await bed.host.ping('198.51.100.1', { from: 'wwan1' })).toBe(true);
    await expectHealthy();
  });

  test('IPv6 (--probe6): an address added without the hooks answers by the other modem', async () => {
    await bed.host.exec(['ip', '-6', 'addr', 'add', '2001:db8:81::200/64', 'dev', 'wwan1']);
    expect((await bed.host.ipJson<{ dev: string }[]>(['-6', 'route', 'get', '2001:db8:ffff::1', 'from', '2001:db8:81::200']))[0]!.dev).toBe('wwan0');
    expect(await bed.host.ping('2001:db8:ffff::1', { from: '2001:db8:81::200' })).toBe(false);
    const rep = await doctor();
    expect(rep.problems).toEqual(['reply-path wwan1 2001:db8:81::200']);
    const f = rep.findings[0]!;
    expect(f.what).toBe('Replies from 2001:db8:81::200 (on wwan1) would leave by wwan0 via 2001:db8:80::1.');
    expect(f.why).toContain('`ip route get 2001:db8:ffff::1 from 2001:db8:81::200`');
    expect(f.fix).toEqual(['ifdown wwan1 && ifup wwan1   # ifupdown runs the hooks again']);
    await bed.host.exec(['ip', '-6', 'addr', 'del', '2001:db8:81::200/64', 'dev', 'wwan1']);
    await expectHealthy();
  });

  test('reply-path (bound): the second modem configured without the hooks has no route for traffic bound to it', async () => {
    await bed.host.ifdown('wwan1');
    // What ModemManager (or an operator) does: the address, no hooks. rp_filter loose, so only the route is missing.
    await bed.host.exec(['ip', 'link', 'set', 'wwan1', 'up']);
    await bed.host.exec(['ip', 'addr', 'add', '192.168.8.100/24', 'dev', 'wwan1']);
    await bed.host.setSysctl({ 'net.ipv4.conf.wwan1.rp_filter': 2 });
    expect(await bed.host.ping('198.51.100.1', { from: 'wwan1' })).toBe(false);
    const rep = await doctor();
    expect(rep.problems).toEqual(['reply-path wwan1 192.168.8.100']);
    const f = rep.findings[0]!;
    expect(f.severity).toBe('error');
    expect(f.what).toBe('Traffic from 192.168.8.100 bound to wwan1 has no route: the kernel would send it to 198.51.100.1 as if on-link, with no gateway.');
    expect(f.why).toContain('`ip route get 198.51.100.1 from 192.168.8.100 oif wwan1` finds no route by wwan1');
    expect(f.fix).toEqual(['ifdown wwan1 && ifup wwan1   # ifupdown runs the hooks again']);
    // The advice's ifup (ifupdown had wwan1 down, so its ifdown has nothing to do).
    await bed.host.exec(['ip', 'addr', 'flush', 'dev', 'wwan1']);
    await bed.host.ifup('wwan1');
    expect(await bed.host.ping('198.51.100.1', { from: 'wwan1' })).toBe(true);
    await expectHealthy();
  });

  test('a router advertisement puts a default route into main: the last resort, no finding', async () => {
    // ifupdown's inet6 static turns RAs off; a sysctl.d file (or `accept_ra 1` in the stanza) turns them on,
    // and the modem starts advertising itself as a router.
    await bed.host.setSysctl({ 'net.ipv6.conf.wwan1.accept_ra': 1 });
    await bed.routers[1]!.restartDnsmasq({ dhcp6: { mode: 'ra-only', raParam: '3,600' } });
    const ra = (await waitFor('the RA default route in main', async () =>
      (await bed.host.routes('main', 6)).find((r) => r.dst === 'default' && r.protocol === 'ra')))!;
    expect(ra.dev).toBe('wwan1');
    // Unbound traffic still leaves by wwan0, first in interface_priority: the RA default in main is the last resort.
    expect((await bed.host.ipJson<{ dev: string }[]>(['-6', 'route', 'get', '2001:db8:ffff::1']))[0]!.dev).toBe('wwan0');
    await expectHealthy();
    await bed.routers[1]!.stopDnsmasq();
  });
});

// install.sh for real inside a test-bed host: its /etc and /usr/local are private overlays (as in
// install-host.test.ts), so the machine's own are never written. Right after it, doctor has nothing
// to say about the hooks it installed (it used to take the dhclient shim's header comment, which names
// the shim's own path, for the executable the shim runs).
describe('doctor right after install.sh', () => {
  let bed: TestBed;
  const installed = '/usr/local/sbin/multihomed-routing';
  const doctor = async () => {
    const r = await bed.host.exec([installed, 'doctor', '--json'], { reject: false });
    expect([0, 1], r.stderr).toContain(r.exitCode);
    return (JSON.parse(r.stdout) as { findings: Finding[] }).findings.map((f) => `${f.id} ${f.subject}`);
  };

  beforeAll(async () => {
    bed = await createTestBed({
      name: 'doctorinst',
      routers: [{ hostIfname: 'eth0', nat: false, ipv4: { subnet: '10.62.0.0/24', address: '10.62.0.1' } }],
      hostOverlays: ['/usr/local'],
    });
  });
  afterAll(() => bed?.destroy());

  test('no finding about the hooks; a hook taken away is reported', async () => {
    const r = await bed.host.exec(['bash', path.join(ROOT, 'install.sh'), '--binary', EXE, '--no-start', '--no-deps'], { reject: false, timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect((await doctor()).filter((f) => f.startsWith('hook-'))).toEqual([]);

    // The control: doctor does look at the hooks of this host.
    const shim = '/etc/dhcp/dhclient-enter-hooks.d/multihomed-routing';
    await bed.host.exec(['mv', shim, '/run/saved-shim']);
    expect((await doctor()).filter((f) => f.startsWith('hook-'))).toEqual([`hook-missing ${shim}`]);
    await bed.host.exec(['mv', '/run/saved-shim', shim]);
  });
});

async function waitUntil(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (await check()) return;
  throw new Error('timed out');
}
