// The snapshot every doctor check test starts from (two healthy uplinks),
// the ways to break it, and the table runner: each case breaks the snapshot,
// runs every check (`diagnose`) and compares the findings.

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../lib/config/parse.js';
import type { DoctorConfig } from '../../../../lib/doctor/check.js';
import { CHECKS, diagnose } from '../../../../lib/doctor/checks/index.js';
import { isProblem, type Finding } from '../../../../lib/doctor/findings.js';
import type { HookFile, HostSnapshot } from '../../../../lib/doctor/snapshot.js';
import { link, route, rule } from '../../plan/fake-kernel.js';

export const config: DoctorConfig = { ...parseConfig(''), configPath: '/etc/multihomed-routing/multihomed-routing.conf' };
export const EXE = '/usr/local/sbin/multihomed-routing';
const hook = (path: string, over: Partial<HookFile> = {}): HookFile => ({ path, exists: true, executable: true, target: EXE, targetExecutable: true, ...over });

/** Two uplinks, each with its table and every rule, the daemon up, dnsmasq reading our file: healthy. */
export function healthy(): HostSnapshot {
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
        rule('30000 lookup main suppress_prefixlength 0 proto 201'),
        ...tables.flatMap(([dev, a, p, , t, rank]) => [
          `10000 from ${a} lookup ${t} proto 201`,
          `15000 oif ${dev} lookup ${t} proto 201`,
          `20000 to ${p} lookup ${t} proto 201`,
          `${31000 + rank} lookup ${t} proto 201`,
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

/** Band rules as a version before the band served forwarded traffic wrote them: `iif lo` at 91000+. */
export const legacyBand = (s: HostSnapshot) => {
  s.kernel.rules = s.kernel.rules.map((r) => (r.priority >= 31000 && r.priority < 32000 ? { ...r, priority: r.priority + 60000, iif: 'lo' } : r));
};
export const dropRules = (s: HostSnapshot, pred: (text: string) => boolean) => {
  s.kernel.rules = s.kernel.rules.filter((r) => !pred(`${r.priority} ${r.src?.text ?? ''} ${r.iif ?? ''} ${r.table}`));
};
/** Adds a complete managed entry (every rule, a default route in its table). */
export const addManaged = (s: HostSnapshot, dev: string, address: string, gateway: string, table: number, rank: number) => {
  const six = address.includes(':') ? '-6 ' : '';
  s.kernel.rules.push(...[`10000 from ${address} lookup ${table} proto 201`, `15000 oif ${dev} lookup ${table} proto 201`, `${31000 + rank} lookup ${table} proto 201`].map((r) => rule(six + r)));
  const family = six ? 6 : 4;
  if (!s.kernel.rules.some((r) => r.family === family && r.suppressPrefixLength === 0)) s.kernel.rules.push(rule(`${six}30000 lookup main suppress_prefixlength 0 proto 201`));
  s.kernel.routes.push(route(`default via ${gateway} dev ${dev} table ${table} proto 201 src ${address}`));
};
/** wlan1 never went through the hooks: no rules, no table. */
export const unmanageWlan1 = (s: HostSnapshot) => {
  s.kernel.rules = s.kernel.rules.filter((r) => r.table !== 10001);
  s.kernel.routes = s.kernel.routes.filter((r) => r.table !== 10001);
};
export const setReply = (s: HostSnapshot, address: string, dev: string) => {
  s.replyRoutes = s.replyRoutes.map((r) => (r.address === address ? { ...r, dev } : r));
};

export interface Case {
  name: string;
  breakIt: (s: HostSnapshot) => void;
  cfg?: Partial<DoctorConfig>;
  /** `severity id subject` of every finding, in order. */
  expected: string[];
  /** Text the advice must contain (what, why or fix of the first finding). */
  advice?: RegExp[];
  /** Text the advice must not contain. */
  notAdvice?: RegExp[];
}

const short = (f: Finding) => `${f.severity} ${f.id} ${f.subject}`;

/** One test per case: the findings of all checks, in order; the advice; each finding from the check that declares its id. */
export function diagnoses(title: string, cases: Case[]): void {
  describe(title, () => {
    it.each(cases)('$name', ({ breakIt, cfg, expected, advice, notAdvice }) => {
      const snap = healthy();
      breakIt(snap);
      const findings = diagnose(snap, { ...config, ...cfg });
      expect(findings.map(short)).toEqual(expected);
      const text = findings[0] ? [findings[0].what, findings[0].why, ...findings[0].fix].join('\n') : '';
      for (const re of advice ?? []) expect(text).toMatch(re);
      for (const re of notAdvice ?? []) expect(text).not.toMatch(re);
      // Every problem says what, why and how to fix it.
      for (const f of findings) {
        expect(f.what.length).toBeGreaterThan(10);
        expect(f.why.length).toBeGreaterThan(20);
        if (isProblem(f)) expect(f.fix.length).toBeGreaterThan(0);
      }
      for (const c of CHECKS) for (const f of c.run(snap, { ...config, ...cfg })) expect(c.findings, c.id).toContain(f.id);
    });
  });
}
