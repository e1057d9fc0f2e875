// The doctor's diagnoses: pure functions from a HostSnapshot (and the config)
// to findings, each saying what is wrong, why it matters and how to fix it.
// No I/O here: unit tests feed hand-made snapshots, table-driven.

import type { Config } from '../config/schema.js';
import { prefixContains, tryParseIp, type Family } from '../net/address.js';
import { ifnameMatches } from '../net/ifname.js';
import { indexState } from '../plan/index.js';
import { TABLE_LOCAL, TABLE_MAIN, type KernelState, type Link, type Route } from '../state/types.js';
import { buildStatus, describeRoute } from '../status/status.js';
import type { Finding } from './findings.js';
import type { HookFile, HostSnapshot } from './snapshot.js';

/** Where the kernel looks up main: every rule after this priority comes too late for main's routes. */
export const MAIN_RULE_PREF = 32766;

export type DoctorConfig = Pick<
  Config,
  'protocol' | 'prefFrom' | 'prefOif' | 'prefDefault' | 'ignoreInterfaces' | 'looseRpFilter' | 'dnsmasqMode' | 'dnsmasqServersFile' | 'dnsmasqPidFile' | 'socketPath'
> & { configPath?: string };

/** An address the toolkit would manage: global scope, usable, on an interface not ignored. */
export interface Candidate {
  ifname: string;
  family: Family;
  address: string;
  /** Learned from DHCP or SLAAC (the kernel's `dynamic` flag). */
  dynamic: boolean;
}

const ignored = (config: Pick<Config, 'ignoreInterfaces'>, ifname: string) =>
  ifname === 'lo' || config.ignoreInterfaces.some((p) => ifnameMatches(p, ifname));

/** The addresses doctor checks (the reader probes `ip route get … from A` for each). */
export function candidateAddresses(kernel: KernelState, config: Pick<Config, 'ignoreInterfaces'>): Candidate[] {
  const out: Candidate[] = [];
  for (const link of kernel.links) {
    if (ignored(config, link.ifname)) continue;
    for (const a of link.addresses) {
      if (a.scope !== 0 || a.flags.includes('tentative') || a.flags.includes('dadfailed')) continue;
      out.push({ ifname: link.ifname, family: a.address.address.family, address: a.address.address.text, dynamic: a.flags.includes('dynamic') });
    }
  }
  return out;
}

/** Runs every diagnosis; findings in a stable order (errors first, then by check). */
export function diagnose(snap: HostSnapshot, config: DoctorConfig): Finding[] {
  const findings = [
    ...checkReplyPaths(snap, config),
    ...checkRpFilter(snap, config),
    ...checkMainDefault(snap, config),
    ...checkManaged(snap, config),
    ...checkLeases(snap, config),
    ...checkDaemon(snap, config),
    ...checkDnsmasq(snap, config),
    ...checkHooks(snap),
    ...checkOtherManagers(snap, config),
  ];
  const rank = { error: 0, warning: 1, info: 2 };
  return findings.map((f, i) => ({ f, i })).sort((a, b) => rank[a.f.severity] - rank[b.f.severity] || a.i - b.i).map((x) => x.f);
}

/** How to make the hooks run again for an interface: dhclient for leased addresses, ifupdown otherwise. */
function rerunHook(ifname: string, dynamic: boolean, family: Family = 4): string[] {
  const six = family === 6 ? ' -6' : '';
  return dynamic
    ? [`dhclient${six} -r ${ifname} && dhclient${six} ${ifname}   # DHCP: renew through the hooks`, `ifdown ${ifname} && ifup ${ifname}   # or, for an ifupdown stanza`]
    : [`ifdown ${ifname} && ifup ${ifname}   # ifupdown runs the hooks again`];
}

function multihomed(candidates: readonly Candidate[], family: Family): boolean {
  return new Set(candidates.filter((c) => c.family === family).map((c) => c.ifname)).size >= 2;
}

/** A rule `from P lookup T` (P containing the address, T not main/local/default) exists. */
function hasSourceRule(kernel: KernelState, family: Family, address: string): boolean {
  const a = tryParseIp(address, family);
  if (!a) return false;
  return kernel.rules.some(
    (r) => r.family === family && r.src !== undefined && r.src.length > 0 && prefixContains(r.src, a) &&
      r.table !== undefined && r.table !== TABLE_MAIN && r.table !== TABLE_LOCAL && r.table !== 253,
  );
}

/** `ifname address` (no prefix length) of every address on the fallback: `degraded` speaks for them. */
function degradedAddresses(kernel: KernelState, config: DoctorConfig): Set<string> {
  return new Set(buildStatus(kernel, config as Config).filter((s) => s.degraded).map((s) => `${s.ifname} ${s.address.replace(/\/\d+$/, '')}`));
}

/** Seed 002: replies from A leave by another interface; or they leave right only by chance. */
export function checkReplyPaths(snap: HostSnapshot, config: DoctorConfig): Finding[] {
  const candidates = candidateAddresses(snap.kernel, config);
  const degraded = degradedAddresses(snap.kernel, config);
  const out: Finding[] = [];
  for (const c of candidates) {
    const probe = snap.replyRoutes.find((r) => r.address === c.address && r.ifname === c.ifname);
    const sourceRule = hasSourceRule(snap.kernel, c.family, c.address);
    const subject = `${c.ifname} ${c.address}`;
    if (probe?.dev && probe.dev !== c.ifname) {
      out.push({
        id: 'reply-path',
        severity: 'error',
        subject,
        what: `Replies from ${c.address} (on ${c.ifname}) would leave by ${probe.dev}${probe.gateway ? ` via ${probe.gateway}` : ''}.`,
        why:
          `\`ip route get ${probe.probe} from ${c.address}${probe.bound ? ` oif ${c.ifname}` : ''}\` picks ${probe.dev}: ` +
          (sourceRule
            ? `a rule for ${c.address} exists but its table sends the traffic elsewhere. `
            : `no rule sends traffic from ${c.address} to a table of its own, so main and the rules for unbound traffic decide. `) +
          `The router behind ${probe.dev} drops packets with a source that is not its own (source filtering, rp_filter), ` +
          `so connections to ${c.address} and sockets bound to it fail.`,
        fix: sourceRule
          ? [`ip -${c.family} rule show from ${c.address}   # find the rule and table`, ...rerunHook(c.ifname, c.dynamic, c.family)]
          : rerunHook(c.ifname, c.dynamic, c.family),
      });
    } else if (probe?.bound && probe.dev === c.ifname && !probe.gateway && !probe.table) {
      // Found on a live host: with `oif` the kernel skips every route by another device and, finding none,
      // answers "on-link" by the bound device instead of failing, so the device check above never fires.
      out.push({
        id: 'reply-path',
        severity: 'error',
        subject,
        what: `Traffic from ${c.address} bound to ${c.ifname} has no route: the kernel would send it to ${probe.probe} as if on-link, with no gateway.`,
        why:
          `${c.address} is on several interfaces, so only traffic bound to the device tells them apart, and ` +
          `\`ip route get ${probe.probe} from ${c.address} oif ${c.ifname}\` finds no route by ${c.ifname} in any table: ` +
          `no \`oif ${c.ifname}\` rule with a table of its own. The kernel then asks for the destination by ARP on ${c.ifname}, nothing answers, ` +
          `and sockets bound to ${c.ifname} (\`ping -I ${c.ifname}\`, a modem's own connections) fail.`,
        fix: rerunHook(c.ifname, c.dynamic, c.family),
      });
    } else if (!sourceRule && multihomed(candidates, c.family) && !degraded.has(subject)) {
      out.push({
        id: 'no-source-rule',
        severity: 'warning',
        subject,
        what: `${c.address} on ${c.ifname} has no \`from ${c.address}\` rule on this multihomed host.`,
        why:
          `Replies from it ${probe?.dev ? `leave by ${probe.dev} today only because main's routes happen to point there` : 'have no route of their own'}; ` +
          `the next default route in main (another interface coming up) sends them out by the wrong uplink. ` +
          `The hooks did not run for this address, or the interface is not handled by ifupdown, dhclient or NetworkManager.`,
        fix: rerunHook(c.ifname, c.dynamic, c.family),
      });
    }
  }
  return out;
}

/** Strict rp_filter (effective max(all, iface) = 1) where strict drops legitimate replies. */
export function checkRpFilter(snap: HostSnapshot, config: DoctorConfig): Finding[] {
  const candidates = candidateAddresses(snap.kernel, config).filter((c) => c.family === 4);
  const out: Finding[] = [];
  const all = Number(snap.rpFilter.all) || 0;
  for (const ifname of [...new Set(candidates.map((c) => c.ifname))]) {
    const own = Number(snap.rpFilter.byIface[ifname]) || 0;
    if (Math.max(all, own) !== 1) continue;
    const mine = candidates.filter((c) => c.ifname === ifname);
    const shared = mine.find((c) => candidates.some((o) => o.ifname !== ifname && o.address === c.address));
    const asym = mine.map((c) => snap.replyRoutes.find((r) => r.ifname === ifname && r.address === c.address)).find((r) => r?.dev && r.dev !== ifname);
    if (!shared && !asym) continue;
    const reason = shared
      ? `${shared.address} is also on ${candidates.find((o) => o.ifname !== ifname && o.address === shared.address)!.ifname}: the kernel checks a packet's source against the first table whose \`from\` rule matches, which belongs to the other interface, so replies arriving on ${ifname} are dropped`
      : `the return route for ${asym!.address} leaves by ${asym!.dev}, not ${ifname}, so strict mode drops what arrives on ${ifname}`;
    out.push({
      id: 'rp-filter-strict',
      severity: 'error',
      subject: ifname,
      what: `Strict reverse-path filtering on ${ifname} (effective rp_filter = max(all=${all}, ${ifname}=${own}) = 1).`,
      why:
        `${reason[0]!.toUpperCase()}${reason.slice(1)}. Loose mode (2) still drops spoofed sources that no route reaches. ` +
        (config.looseRpFilter
          ? 'loose_rp_filter is on, so the hooks set this for managed interfaces: something set it back (a sysctl.d file, a later boot step) or the hooks did not run.'
          : `loose_rp_filter is off in the config${config.configPath ? ` (${config.configPath})` : ''}.`),
      fix: [
        `sysctl -w net.ipv4.conf.${ifname}.rp_filter=2`,
        ...(config.looseRpFilter ? [] : [`# lasting: set loose_rp_filter = yes in ${config.configPath ?? 'the config'}`]),
        `grep -r rp_filter /etc/sysctl.conf /etc/sysctl.d   # find what sets it back`,
      ],
    });
  }
  return out;
}

const NM_METRICS = new Set([20000, 50, 100, 150, 300, 400, 425, 450, 600, 700, 750, 800]);

/** Who put a route in main, from its protocol and metric. */
export function routeOrigin(r: Route, networkManager = true): { who: string; lasting: string } {
  // netplan with systemd-networkd uses the same metrics (100 wired, 600 wireless): only NetworkManager's if it is installed.
  const nm = networkManager && (NM_METRICS.has(r.metric) || (r.metric >= 20100 && r.metric <= 20800));
  switch (r.protocol) {
    case 16:
      return nm
        ? { who: `NetworkManager (proto dhcp, metric ${r.metric}: its default for the device type)`, lasting: 'NetworkManager owns main; its metrics decide unbound traffic. Give interfaces their order with `nmcli connection modify ID ipv4.route-metric N`.' }
        : { who: 'a DHCP client other than dhclient (proto dhcp: systemd-networkd, dhcpcd or NetworkManager)', lasting: 'let dhclient with our enter hook (ifupdown `inet dhcp`) handle the interface, or stop that client from installing routes (networkd: `[DHCPv4] UseRoutes=no`).' };
    case 9:
      return { who: 'the kernel, from an IPv6 router advertisement (proto ra)', lasting: `the kernel re-adds it with every RA. To keep main empty: \`sysctl -w net.ipv6.conf.${r.dev ?? 'IFACE'}.accept_ra_defrtr=0\` (then the gateway must come from DHCPv6 or static configuration).` };
    case 4:
      return nm
        ? { who: `NetworkManager (proto static, metric ${r.metric})`, lasting: 'NetworkManager owns main; its metrics decide unbound traffic.' }
        : { who: 'a static configuration (proto static: systemd-networkd/netplan `routes:` or `gateway4`, or `ip route add … proto static`)', lasting: 'remove the gateway from that configuration; give it to ifupdown (`gateway` in the iface stanza), where our hook moves it into the table.' };
    case 3:
      return { who: 'ifupdown\'s `gateway` line, dhclient-script or someone by hand (proto boot, the default of `ip route add`)', lasting: 'our hooks remove this route when they run for the interface: run them again (below). If it comes back, a script adds it after us.' };
    case 2:
      return { who: 'the kernel (proto kernel)', lasting: 'check what configured the interface.' };
    default:
      return { who: `a routing daemon or tool (proto ${r.protocol})`, lasting: 'see /etc/iproute2/rt_protos for the name and configure that tool not to install a default route in main.' };
  }
}

/** A default route in main wins over our `iif lo` rules: main is looked up at 32766, ours at 91000+. */
export function checkMainDefault(snap: HostSnapshot, config: DoctorConfig): Finding[] {
  const out: Finding[] = [];
  for (const family of [4, 6] as const) {
    const ours = snap.kernel.rules.filter((r) => r.family === family && r.protocol === config.protocol && r.iif === 'lo' && r.table !== undefined);
    if (!ours.length) continue;
    const mainRule = snap.kernel.rules.find((r) => r.family === family && r.table === TABLE_MAIN && !r.src && !r.dst && !r.iif && !r.oif);
    const mainPref = mainRule?.priority ?? MAIN_RULE_PREF;
    if (ours.every((r) => r.priority < mainPref)) continue;
    for (const r of snap.kernel.routes) {
      if (r.family !== family || r.table !== TABLE_MAIN || r.dst.length !== 0 || r.type !== 1) continue;
      if (r.protocol === config.protocol) continue; // our fallback: reported as degraded
      if (r.flags.includes('linkdown') || r.flags.includes('dead')) continue;
      const { who, lasting } = routeOrigin(r, snap.tools.networkManager);
      const nm = who.startsWith('NetworkManager');
      const del = `ip -${family} route del ${describeRoute(r).replace(/ src \S+/, '')}${r.protocol !== 3 ? ` proto ${r.protocol}` : ''}`;
      const dynamic = !!snap.kernel.links.find((l) => l.ifname === r.dev)?.addresses.some((a) => a.flags.includes('dynamic'));
      out.push({
        id: 'main-default',
        severity: nm ? 'info' : 'warning',
        subject: `main ${describeRoute(r)}`,
        what: `main holds a default route (${describeRoute(r)}), added by ${who}.`,
        why:
          `main is looked up at priority ${mainPref}, before our \`iif lo\` rules at ${config.prefDefault}+, so all unbound traffic ` +
          `leaves by ${r.dev ?? 'this route'} whatever interface_priority says, and failover to the next uplink does not happen. ` +
          (nm ? 'Under NetworkManager this is by design: its metrics are respected. ' : '') +
          `Lasting fix: ${lasting}`,
        fix: nm ? [`ip -${family} route show table main default   # NetworkManager's order`] : [del, ...(r.dev && r.protocol === 3 ? rerunHook(r.dev, dynamic, family) : [])],
      });
    }
  }
  return out;
}

/** Managed addresses that are incomplete, on the fallback, or whose rules point at empty tables. */
export function checkManaged(snap: HostSnapshot, config: DoctorConfig): Finding[] {
  const out: Finding[] = [];
  const idx = indexState(snap.kernel, config);
  for (const s of buildStatus(snap.kernel, config as Config)) {
    const subject = `${s.ifname} ${s.address}`;
    const link: Link | undefined = idx.links.get(s.ifname);
    const dynamic = !!link?.addresses.some((a) => a.flags.includes('dynamic'));
    if (s.degraded) {
      out.push({
        id: 'degraded',
        severity: 'warning',
        subject,
        what: `${s.address} on ${s.ifname} runs on the fallback: routes in main with metric = interface index, no table, no rules.`,
        why: 'The hook got no table lease (the daemon was not answering or the table range is used up). Replies from this address are not pinned to its interface.',
        fix: ['multihomed-routing lease list   # is the daemon answering? are tables left?', ...rerunHook(s.ifname, dynamic, s.family)],
      });
      continue;
    }
    const routes = idx.routesByTable.get(`${s.family}:${s.table}`) ?? [];
    const entry = idx.entries.get(`${s.family}:${s.table}`);
    if (!routes.length && entry) {
      out.push({
        id: 'empty-table',
        severity: 'error',
        subject: `table ${s.table}`,
        what: `Rules of ours point at table ${s.table}${s.address !== '?' ? ` (${subject})` : ''}, which holds no routes.`,
        why:
          (link ? 'The routes were deleted (by hand, or by a tool that flushed the table). ' : `The interface ${s.ifname} is gone and its routes with it; the rules stayed behind. `) +
          'A lookup that reaches an empty table falls through to the next rule: traffic from the address leaves by whatever comes next.',
        fix: [
          ...entry.rules.map((r) => `ip -${s.family} rule del ${ruleSpec(r)}`),
          ...(link ? rerunHook(s.ifname, dynamic, s.family) : []),
        ],
      });
      continue;
    }
    const missing = s.problems.filter((p) => p.startsWith('no ') && p.endsWith(' rule'));
    if (missing.length) {
      out.push({
        id: 'incomplete',
        severity: 'error',
        subject,
        what: `${s.address} on ${s.ifname} (table ${s.table}) is missing rules: ${missing.map((m) => m.slice(3, -5)).join(', ')}.`,
        why: 'Each rule has a job: `from` pins replies, `oif` serves sockets bound to the device, `iif lo` orders unbound traffic. Someone deleted it, or the hook was interrupted.',
        fix: rerunHook(s.ifname, dynamic, s.family),
      });
    }
  }
  return out;
}

/** A leased address still on its interface, but no rule or route of ours for its table: the hook's work is gone. */
export function checkLeases(snap: HostSnapshot, config: DoctorConfig): Finding[] {
  const idx = indexState(snap.kernel, config);
  const degraded = degradedAddresses(snap.kernel, config);
  const out: Finding[] = [];
  for (const l of snap.daemon.leases ?? []) {
    const link = idx.links.get(l.ifname);
    const held = link?.addresses.find((a) => a.address.address.text === l.address);
    if (!held || idx.entries.has(`${l.family}:${l.table}`)) continue;
    // Brought up on the fallback while the daemon was down, with a lease from before: `degraded` says so and how to fix it.
    if (degraded.has(`${l.ifname} ${l.address}`)) continue;
    out.push({
      id: 'missing-table',
      severity: 'error',
      subject: `${l.ifname} ${l.address}`,
      what: `${l.address} on ${l.ifname} has table ${l.table} leased, but no rule or route of ours uses that table.`,
      why: 'The address is managed (the daemon keeps its lease) but its rules and routes are gone: deleted by hand, by a tool that flushed rules, or a hook that failed half-way. Its traffic follows main.',
      fix: rerunHook(l.ifname, held.flags.includes('dynamic'), l.family),
    });
  }
  return out;
}

function ruleSpec(r: { priority: number; src?: { text: string }; dst?: { text: string }; iif?: string; oif?: string; table?: number }): string {
  const parts = [`pref ${r.priority}`];
  if (r.src) parts.push(`from ${r.src.text}`);
  if (r.dst) parts.push(`to ${r.dst.text}`);
  if (r.iif) parts.push(`iif ${r.iif}`);
  if (r.oif) parts.push(`oif ${r.oif}`);
  parts.push(`lookup ${r.table}`);
  return parts.join(' ');
}

export function checkDaemon(snap: HostSnapshot, _config: DoctorConfig): Finding[] {
  if (snap.daemon.answering) return [];
  return [{
    id: 'daemon-down',
    severity: 'error',
    subject: snap.daemon.socketPath,
    what: `The daemon does not answer on ${snap.daemon.socketPath}${snap.daemon.error ? ` (${snap.daemon.error})` : ''}.`,
    why: 'Without it the hooks get no table: new addresses fall back to main (degraded), leases are not renewed, and addresses that vanish are not cleaned up.',
    fix: ['systemctl start multihomed-routing   # systemd', 'journalctl -u multihomed-routing -n 50   # why it stopped', 'multihomed-routing daemon &   # without systemd'],
  }];
}

export function checkDnsmasq(snap: HostSnapshot, config: DoctorConfig): Finding[] {
  if (!config.dnsmasqMode) return [];
  const file = config.dnsmasqServersFile;
  const { running, pidFromFile } = snap.dnsmasq;
  const signalled = running.find((p) => p.pid === pidFromFile);
  const readers = running.filter((p) => p.serversFiles.includes(file));
  const dropIn = '/etc/dnsmasq.d/multihomed-routing.conf';
  if (signalled) {
    if (signalled.serversFiles.includes(file)) return [];
    const readsDir = signalled.argv.some((a) => /^(-7|--conf-dir)/.test(a)) || signalled.confFiles.some((f) => f.startsWith('/etc/dnsmasq.d/'));
    return [{
      id: 'dnsmasq-servers-file',
      severity: 'error',
      subject: `dnsmasq pid ${signalled.pid}`,
      what: `The dnsmasq in ${config.dnsmasqPidFile} (pid ${signalled.pid}) does not read our servers-file ${file}.`,
      why:
        `Name servers learned per interface are written there as server=NS@IFACE; this dnsmasq never sees them, so it asks ` +
        `${signalled.serversFiles.length ? `only ${signalled.serversFiles.join(', ')}` : 'its own upstreams'} through whatever route main picks. ` +
        `It reads: ${signalled.confFiles.length ? signalled.confFiles.join(', ') : 'no configuration file'}.`,
      fix: readsDir
        ? [`echo 'servers-file=${file}' > ${dropIn}`, 'systemctl restart dnsmasq']
        : [`echo 'servers-file=${file}' >> ${signalled.confFiles[0] ?? '/etc/dnsmasq.conf'}   # it reads no conf-dir`, 'systemctl restart dnsmasq'],
    }];
  }
  if (readers.length) {
    const p = readers[0]!;
    const pidFile = optionValue(p.argv, '-x', '--pid-file');
    return [{
      id: 'dnsmasq-pid-file',
      severity: 'warning',
      subject: `dnsmasq pid ${p.pid}`,
      what: `dnsmasq pid ${p.pid} reads ${file}, but dnsmasq_pid_file (${config.dnsmasqPidFile}) does not name it.`,
      why: 'After writing the servers-file the hooks SIGHUP only the pid in dnsmasq_pid_file; this dnsmasq keeps asking the old servers until restarted.',
      fix: [`# in ${config.configPath ?? 'the config'}: dnsmasq_pid_file = ${pidFile ?? `/run/dnsmasq/dnsmasq.pid   # and start dnsmasq with --pid-file=…`}`],
    }];
  }
  if (!running.length) {
    return [{
      id: 'dnsmasq-not-running',
      severity: 'warning',
      subject: 'dnsmasq',
      what: 'dnsmasq_mode is on, but no dnsmasq runs in this network namespace.',
      why: 'In dnsmasq mode dhclient-script leaves resolv.conf alone and the name servers learned per interface go only to dnsmasq\'s servers-file: without dnsmasq they are not used.',
      fix: ['apt-get install dnsmasq   # Debian, Ubuntu', `echo 'servers-file=${file}' > ${dropIn}`, 'systemctl restart dnsmasq', `# or: dnsmasq_mode = no in ${config.configPath ?? 'the config'}`],
    }];
  }
  return [{
    id: 'dnsmasq-servers-file',
    severity: 'error',
    subject: 'dnsmasq',
    what: `No running dnsmasq reads our servers-file ${file}, and ${config.dnsmasqPidFile} names none of them.`,
    why: `Name servers learned per interface never reach a resolver. Running: ${running.map((p) => `pid ${p.pid} (${p.confFiles.join(', ') || 'no conf file'})`).join('; ')}.`,
    fix: [`echo 'servers-file=${file}' > ${dropIn}`, 'systemctl restart dnsmasq', `# and dnsmasq_pid_file in ${config.configPath ?? 'the config'} = that dnsmasq's --pid-file`],
  }];
}

function optionValue(argv: readonly string[], short: string, long: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith(`${long}=`)) return a.slice(long.length + 1);
    if (a === short || a === long) return argv[i + 1];
    if (a.startsWith(short) && a.length > short.length) return a.slice(short.length);
  }
  return undefined;
}

function hookProblem(hook: HookFile, needsExec: boolean, who: string, without: string): Finding | undefined {
  if (!hook.exists) {
    return {
      id: 'hook-missing',
      severity: 'error',
      subject: hook.path,
      what: `${hook.path} is missing.`,
      why: `${who} looks there; without it ${without}.`,
      fix: ['./install.sh   # from the multihomed-routing source, or: install.sh --binary PATH'],
    };
  }
  if (needsExec && !hook.executable) {
    return {
      id: 'hook-broken',
      severity: 'error',
      subject: hook.path,
      what: `${hook.path} is not executable.`,
      why: `${who} runs only executable files there (run-parts), so it skips this one.`,
      fix: [`chmod 0755 ${hook.path}`],
    };
  }
  if (hook.target && !hook.targetExecutable) {
    return {
      id: 'hook-broken',
      severity: 'error',
      subject: hook.path,
      what: `${hook.path} runs ${hook.target}, which does not exist or is not executable.`,
      why: `${who} runs the hook, which fails: the host falls back to plain routing and every event logs an error.`,
      fix: ['./install.sh   # reinstall the executable and the hooks', `ls -l ${hook.target}`],
    };
  }
  return undefined;
}

export function checkHooks(snap: HostSnapshot): Finding[] {
  const { tools, hooks } = snap;
  const out: (Finding | undefined)[] = [];
  if (tools.ifupdown) {
    out.push(hookProblem(hooks.ifUp, true, 'ifupdown (and NetworkManager through 01-ifupdown) on up', 'static and NetworkManager addresses get no table and no rules'));
    out.push(hookProblem(hooks.ifPostDown, true, 'ifupdown on down', 'rules and routes of an interface taken down stay behind and its leases are not released'));
  }
  if (tools.dhclient) out.push(hookProblem(hooks.dhclientEnter, false, 'dhclient-script (it sources every file in dhclient-enter-hooks.d)', 'DHCP addresses get no table, and dhclient-script puts its default route in main'));
  if (tools.udev) out.push(hookProblem(hooks.udevRule, false, 'udev, when an interface is removed (an unplugged modem)', "that interface's dhclient, DNS servers, rules and leases stay behind"));
  if (tools.networkManager && (!hooks.nmDispatcher.exists || !hooks.nmDispatcher.executable)) {
    out.push({
      id: 'nm-dispatcher-missing',
      severity: 'warning',
      subject: hooks.nmDispatcher.path,
      what: `NetworkManager is installed, but ${hooks.nmDispatcher.path} is ${hooks.nmDispatcher.exists ? 'not executable' : 'missing'}.`,
      why: "NetworkManager reaches our if-up.d hook only through Debian's 01-ifupdown dispatcher script: interfaces it configures get no table.",
      fix: hooks.nmDispatcher.exists
        ? [`chmod 0755 ${hooks.nmDispatcher.path}`]
        : ['apt-get install --reinstall network-manager   # Debian and Ubuntu ship 01-ifupdown in it', 'systemctl restart NetworkManager-dispatcher'],
    });
  }
  return out.filter((f): f is Finding => f !== undefined);
}

/** systemd-networkd or netplan (networkd renderer) configuring an interface: no hook of ours runs. */
export function checkOtherManagers(snap: HostSnapshot, config: DoctorConfig): Finding[] {
  const byIf = new Map<string, string[]>();
  const note = (ifname: string, how: string) => byIf.set(ifname, [...(byIf.get(ifname) ?? []), how]);
  for (const n of snap.networkd) note(n.ifname, `systemd-networkd configures it${n.networkFile ? ` (${n.networkFile})` : ''}`);
  for (const n of snap.netplan) if (n.renderer === 'networkd') note(n.ifname, `netplan hands it to networkd (${n.file})`);
  const out: Finding[] = [];
  for (const [ifname, hows] of byIf) {
    if (ignored(config, ifname)) continue;
    const netplanFile = snap.netplan.find((n) => n.ifname === ifname)?.file;
    out.push({
      id: 'networkd-managed',
      severity: 'warning',
      subject: ifname,
      what: `${ifname} is not configured by ifupdown: ${hows.join('; ')}.`,
      why: 'systemd-networkd runs neither ifupdown\'s if-up.d hooks nor dhclient-script, so its addresses get no table and no rules (the daemon\'s watcher sees only what the kernel shows).',
      fix: [
        ...(netplanFile ? [`# remove ${ifname} from ${netplanFile}, then: netplan apply`] : [`# mark ${ifname} unmanaged in networkd: [Link] Unmanaged=yes in its .network file`]),
        `printf 'auto ${ifname}\\niface ${ifname} inet dhcp\\n' >> /etc/network/interfaces`,
        `ifup ${ifname}`,
      ],
    });
  }
  return out;
}
