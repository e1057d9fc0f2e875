// Steps 1 and 2: build the sandbox, then install the hooks and a config in
// the host's private /etc and start the daemon.

import fs from 'node:fs';
import sea from 'node:sea';
import { listLeases } from '../../allocator/client.js';
import { isAlive, poll } from '../../sandbox/netns.js';
import { dhclientShim, udevRule } from '../assets.js';
import { lines, type Step } from '../context.js';
import { CONFIG, DHCLIENT_HOOK, INTERNET, SOCKET, UDEV_RULE, UPLINKS, sweep, type Sandbox } from '../sandbox.js';

/** Programs the sandbox needs, with the Debian package that has each. */
const NEEDS: Record<string, string> = {
  ip: 'iproute2', nsenter: 'util-linux', mount: 'mount', nft: 'nftables', dnsmasq: 'dnsmasq-base', dhclient: 'isc-dhcp-client',
  'dhclient-script': 'isc-dhcp-client', ping: 'iputils-ping', sleep: 'coreutils', env: 'coreutils',
};

const DHCLIENT_CONF = `# multihomed-routing demo: Debian's request list, a short timeout
option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
request subnet-mask, broadcast-address, time-offset, routers,
	domain-name, domain-name-servers, domain-search, host-name,
	interface-mtu, rfc3442-classless-static-routes, ntp-servers;
timeout 15;
`;

export const buildSandbox: Step = {
  title: 'Build the sandbox: a host with 4 uplinks, a router for each, an internet',
  async run({ sb, report }) {
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
};

export const installHooks: Step = {
  title: "Install the hooks in the host's private /etc and start the daemon",
  async run({ sb, report, broken }) {
    const exe = executable(sb);
    if (!fs.existsSync(sb.host.real(exe.path))) throw new Error(`the host cannot see the executable ${exe.path} (under /etc or /run?)`);
    exe.install();
    const watcher = broken === 'watcher' ? ['watch_kernel = no  # demo --break watcher'] : [];
    sb.host.writeFile(CONFIG, ['# multihomed-routing demo sandbox', 'syslog = no', 'store_path = /run/multihomed-routing/leases.json',
      // No dnsmasq reads the servers-file in the sandbox: the demo shows what a host's dnsmasq would read (docs/dns.md).
      'dnsmasq_mode = yes',
      // No health probes: the steps tell which router forwarded a ping by its counters, which probes would move too.
      'health_check = no', ...watcher, ''].join('\n'));
    sb.host.writeFile('/etc/dhcp/dhclient.conf', DHCLIENT_CONF);
    sb.host.writeFile(DHCLIENT_HOOK, dhclientShim.replace("mhr_exe='@EXECUTABLE@'", `mhr_exe='${exe.path}'`).replace("mhr_config='@CONFIG@'", `mhr_config='${CONFIG}'`)
      .replace("mhr_handover='@HANDOVER@'", "mhr_handover='/run/multihomed-routing/hook'"));
    sb.host.writeFile(UDEV_RULE, udevRule.replaceAll('@EXECUTABLE@', exe.path).replaceAll('@CONFIG@', CONFIG).replaceAll('@UNSET_ENV@', `/usr/bin/env ${runtimeEnvOf(dhclientShim)}`));
    const daemon = sb.host.start([exe.path, '--config', CONFIG, 'daemon'], sb.log('daemon'));
    sb.pids.add(daemon.pid);
    const up = await poll(() => listLeases({ socketPath: sb.host.real(SOCKET) }).then(() => true), 5000);
    report.show(`ls  # the host's /etc, in memory`, [CONFIG, DHCLIENT_HOOK, UDEV_RULE]);
    report.note(`Every hook runs ${exe.path}${exe.wrapper ? ' (through a wrapper: not a single executable)' : ''}.`);
    report.check(!!up && isAlive(daemon.pid), `daemon running (pid ${daemon.pid}): table allocator${broken === 'watcher' ? '' : ' and kernel watcher'}`, tail(sb.log('daemon')));
  },
};

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

/** `-u NAME` for each variable the shim's executable starts without (its copy of install.sh's RUNTIME_ENV, kept equal by a unit test). */
function runtimeEnvOf(shim: string): string {
  const names = /^\s*unset (NODE_OPTIONS [A-Z_ ]+)$/m.exec(shim)?.[1]?.split(' ') ?? ['NODE_OPTIONS'];
  return names.map((n) => `-u ${n}`).join(' ');
}
