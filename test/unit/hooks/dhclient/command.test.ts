// The dhclient-hook command's decisions, through the real job handler
// (lib/dispatch/handler.ts) with handleEvent and ping replaced (the real ones
// run in the integration suite): which jobs it dispatches, which events
// reach handleEvent, what lands in the servers-file, what the shim is told.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../../../lib/cli/context.js';
import { parseConfig } from '../../../../lib/config/parse.js';
import { parseDhclientEnv } from '../../../../lib/dhcp/parse.js';
import { createLogger } from '../../../../lib/log/log.js';
import { writeRecord } from '../../../../lib/state/records.js';
import type { RoutingEvent } from '../../../../lib/plan/event.js';
import { runDhclientHook, type DhclientHookDeps } from '../../../../hooks/dhclient/command.js';
import { runJob } from '../../../../lib/dispatch/handler.js';
import { readDnsUnconfigured } from '../../../../lib/dns/unconfigured.js';

let dir: string;
let out: string;
let logLines: string[];
let handled: string[];
let pings: string[][];
/** The jobs dispatched: their events' kinds, then their servers. */
let jobs: string[];
let current: CommandContext;

const BOUND = {
  reason: 'BOUND', interface: 'eth1', new_ip_address: '10.99.0.60', new_subnet_mask: '255.255.255.0',
  new_routers: '10.99.0.1', new_domain_name_servers: '10.99.0.1 192.0.2.53',
};

function ctx(env: Record<string, string>, configText = '', dryRun = false): CommandContext {
  const config = parseConfig(
    `dnsmasq_servers_file = ${dir}/servers.conf\ndnsmasq_pid_file = ${dir}/none.pid\nrun_dir = ${dir}/run\ndnsmasq_mode = yes\n${configText}`,
  );
  return (current = {
    args: [],
    env,
    options: { configPath: '(test)', dryRun, verbose: true },
    config: () => config,
    log: createLogger({ source: 'dhclient-hook', verbose: true, write: (l) => logLines.push(l) }),
    out: (t) => void (out += t),
  });
}

/** The hook's dependencies: jobs go to the real handler, with events that `fail` throwing. */
function deps(opts: { fail?: (e: RoutingEvent) => boolean; pingOk?: boolean } = {}): DhclientHookDeps {
  return {
    dispatch: (job) => {
      const dns = job.dns && 'servers' in job.dns ? ` dns ${job.dns.servers.map((a) => a.text).join(' ') || '(none)'}` : '';
      jobs.push(`${job.events.map((e) => e.kind).join(',') || '(no event)'}${dns}`);
      return runJob(job, {
        config: current.config(),
        log: current.log,
        out: () => {},
        handle: async (event) => {
          const what = `${event.kind} ${event.ifname}${event.kind !== 'interface-gone' ? ` ${event.address.address.text}${event.soleLease ? ' sole' : ''}` : ''}`;
          handled.push(what);
          if (opts.fail?.(event)) throw new Error(`ip failed for ${what}`);
          return { table: 10000, degraded: false, changes: 1 };
        },
      });
    },
    run: async (argv) => {
      pings.push([...argv]);
      return { command: [...argv], exitCode: opts.pingOk ? 0 : 1, signal: null, stdout: '', stderr: '', durationMs: 1 };
    },
  };
}

const servers = () => (existsSync(join(dir, 'servers.conf')) ? readFileSync(join(dir, 'servers.conf'), 'utf8').split('\n').filter((l) => l.startsWith('server=')) : undefined);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mhr-dhcmd-'));
  out = '';
  logLines = [];
  handled = [];
  pings = [];
  jobs = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('dhclient-hook command', () => {
  it('BOUND: routes the address, writes its servers, tells the shim it handled it', async () => {
    expect(await runDhclientHook(ctx(BOUND), deps())).toBe(0);
    expect(handled).toEqual(['address-up eth1 10.99.0.60 sole']);
    expect(servers()).toEqual(['server=10.99.0.1@eth1', 'server=192.0.2.53@eth1']);
    expect(out).toBe('resolv=keep\ncall=set_hostname\noutcome=handled\n');
  });

  it('RENEW to another address: old down, new up, in that order', async () => {
    const env = { ...BOUND, reason: 'RENEW', old_ip_address: '10.99.0.59', old_subnet_mask: '255.255.255.0' };
    expect(await runDhclientHook(ctx(env), deps())).toBe(0);
    expect(handled).toEqual(['address-down eth1 10.99.0.59', 'address-up eth1 10.99.0.60 sole']);
  });

  it('RELEASE: removes the address and its servers', async () => {
    await runDhclientHook(ctx(BOUND), deps());
    out = '';
    const env = { reason: 'RELEASE', interface: 'eth1', old_ip_address: '10.99.0.60', old_subnet_mask: '255.255.255.0' };
    expect(await runDhclientHook(ctx(env), deps())).toBe(0);
    expect(handled).toEqual(['address-up eth1 10.99.0.60 sole', 'address-down eth1 10.99.0.60 sole']);
    expect(servers()).toEqual([]);
    expect(out).toBe('resolv=keep\noutcome=handled\n');
  });

  it('hostile values: nothing handled, nothing written, exit 1 so dhclient-script takes over', async () => {
    const env = { ...BOUND, new_domain_name_servers: '10.99.0.1 $(reboot)' };
    expect(await runDhclientHook(ctx(env), deps())).toBe(1);
    expect(handled).toEqual([]);
    expect(servers()).toBeUndefined();
    expect(out).toBe('resolv=keep\n');
    expect(logLines.join('\n')).toContain('refused DHCP values: new_domain_name_servers: expected a unicast IPv4 address, received "$(reboot)"; nothing changed');
  });

  it.each([
    ['PREINIT', { reason: 'PREINIT', interface: 'eth1' }],
    ['DEPREF6', { reason: 'DEPREF6', interface: 'eth1', cur_ip6_address: 'fd99::1' }],
    ['an ignored interface', { ...BOUND, interface: 'veth0' }],
  ])('%s: passed to dhclient-script', async (_, env) => {
    expect(await runDhclientHook(ctx(env), deps())).toBe(0);
    expect(handled).toEqual([]);
    expect(out).toBe('resolv=keep\noutcome=pass\n');
  });

  it('routing failure: exit 1 (dhclient-script configures the host), DNS still written', async () => {
    expect(await runDhclientHook(ctx(BOUND), deps({ fail: () => true }))).toBe(1);
    expect(servers()).toEqual(['server=10.99.0.1@eth1', 'server=192.0.2.53@eth1']);
    expect(out).toBe('resolv=keep\n');
    expect(logLines.join('\n')).toContain('routing not configured: ip failed for address-up eth1 10.99.0.60');
  });

  it('TIMEOUT with a router that answers: kept', async () => {
    expect(await runDhclientHook(ctx({ ...BOUND, reason: 'TIMEOUT' }), deps({ pingOk: true }))).toBe(0);
    expect(pings).toEqual([['ping', '-q', '-n', '-c', '1', '-W', '2', '-I', 'eth1', '10.99.0.1']]);
    expect(handled).toEqual(['address-up eth1 10.99.0.60 sole']);
    expect(servers()).toHaveLength(2);
    expect(out).toBe('resolv=keep\noutcome=handled\n');
  });

  it('TIMEOUT with a router that does not answer: removed again, unusable', async () => {
    expect(await runDhclientHook(ctx({ ...BOUND, reason: 'TIMEOUT' }), deps({ pingOk: false }))).toBe(0);
    expect(handled).toEqual(['address-up eth1 10.99.0.60 sole', 'address-down eth1 10.99.0.60 sole']);
    expect(servers()).toBeUndefined();
    expect(out).toBe('resolv=keep\noutcome=unusable\n');
  });

  it('outside dnsmasq mode: no servers-file, dhclient-script writes resolv.conf', async () => {
    expect(await runDhclientHook(ctx(BOUND, 'dnsmasq_mode = no\n'), deps())).toBe(0);
    expect(servers()).toBeUndefined();
    expect(out).toBe('call=make_resolv_conf\ncall=set_hostname\noutcome=handled\n');
  });

  it('auto with no dnsmasq reading the servers-file: dhclient-script writes resolv.conf, the servers-file stays unwritten', async () => {
    expect(await runDhclientHook(ctx(BOUND, 'dnsmasq_mode = auto\n'), deps())).toBe(0);
    expect(servers()).toBeUndefined();
    expect(out).toBe('call=make_resolv_conf\ncall=set_hostname\noutcome=handled\n');
    expect(logLines.join('\n')).toContain(`per-uplink DNS off: dhclient-script writes resolv.conf why="dnsmasq_mode = auto and no pid file ${dir}/none.pid"`);
  });

  it('auto: the decision the hook was given rules resolv.conf', async () => {
    const on = { ...deps(), dns: () => ({ on: true, why: 'test' }) };
    expect(await runDhclientHook(ctx(BOUND, 'dnsmasq_mode = auto\n'), on)).toBe(0);
    expect(out).toBe('resolv=keep\ncall=set_hostname\noutcome=handled\n');
  });

  it.each(['a;b', 'c#d', 'e"f', "g'h"])('an interface named %s: routed, its DNS not configured, said in the log and recorded for status', async (name) => {
    expect(await runDhclientHook(ctx({ ...BOUND, interface: name }), deps())).toBe(0);
    expect(handled).toEqual([`address-up ${name} 10.99.0.60 sole`]);
    expect(out).toBe('resolv=keep\ncall=set_hostname\noutcome=handled\n');
    expect(servers()).toBeUndefined();
    expect(logLines.join('\n')).toContain(`DNS not configured: the name ${JSON.stringify(name)} cannot be written into dnsmasq's servers-file`);
    expect(readDnsUnconfigured(join(dir, 'run')).get(name)).toMatch(/cannot be written/);
    // The lease ends: the record goes with it.
    expect(await runDhclientHook(ctx({ reason: 'RELEASE', interface: name, old_ip_address: '10.99.0.60', old_subnet_mask: '255.255.255.0', old_domain_name_servers: '10.99.0.1' }), deps())).toBe(0);
    expect(readDnsUnconfigured(join(dir, 'run')).has(name)).toBe(false);
  });

  it('BOUND6: address up, IPv6 servers next to the IPv4 ones', async () => {
    await runDhclientHook(ctx(BOUND), deps());
    const env = { reason: 'BOUND6', interface: 'eth1', new_ip6_address: 'fd99::148', new_ip6_prefixlen: '128', new_dhcp6_name_servers: 'fd99::1', new_max_life: '120', new_preferred_life: '120' };
    expect(await runDhclientHook(ctx(env), deps())).toBe(0);
    expect(handled.at(-1)).toBe('address-up eth1 fd99::148');
    expect(servers()).toEqual(['server=10.99.0.1@eth1', 'server=192.0.2.53@eth1', 'server=fd99::1@eth1']);
  });

  describe('a renewal that changes nothing (every half lease)', () => {
    const RENEW = {
      ...BOUND, reason: 'RENEW', new_dhcp_lease_time: '600',
      old_ip_address: '10.99.0.60', old_subnet_mask: '255.255.255.0', old_routers: '10.99.0.1', old_domain_name_servers: '10.99.0.1 192.0.2.53', old_dhcp_lease_time: '600',
    };
    const RENEW6 = {
      reason: 'RENEW6', interface: 'eth1', new_ip6_address: 'fd99::148', new_ip6_prefixlen: '128', new_dhcp6_name_servers: 'fd99::1', new_max_life: '120', new_preferred_life: '90',
      old_ip6_address: 'fd99::148', old_ip6_prefixlen: '128', old_dhcp6_name_servers: 'fd99::1',
    };
    const daemonConfig = () => `socket_path = ${dir}/allocator.sock\n`;
    /** What handleEvent leaves after configuring the lease in a table: its record. */
    const configured = (env: Record<string, string>, table = 10000) => {
      const up = parseDhclientEnv({ ...env, reason: env.reason!.replace('RENEW', 'BOUND') }).events.at(-1);
      if (up?.kind !== 'address-up') throw new Error('no address-up');
      writeRecord(join(dir, 'run'), up, table);
    };
    const daemonUp = () => writeFileSync(join(dir, 'allocator.sock'), '');

    it('left to dhclient-script: outcome=pass, nothing handled, the servers-file not written', async () => {
      configured(RENEW);
      daemonUp();
      expect(await runDhclientHook(ctx(RENEW, daemonConfig()), deps())).toBe(0);
      expect(out).toBe('resolv=keep\noutcome=pass\n');
      expect(handled).toEqual([]);
      expect(servers()).toBeUndefined();
      expect(logLines.join('\n')).toContain('renewal changes nothing of ours');
    });

    it('RENEW6 and REBIND alike; the lifetimes may change', async () => {
      configured(RENEW6);
      configured(RENEW, 10001);
      daemonUp();
      expect(await runDhclientHook(ctx(RENEW6, daemonConfig()), deps())).toBe(0);
      expect(await runDhclientHook(ctx({ ...RENEW, reason: 'REBIND', new_dhcp_lease_time: '900' }, daemonConfig()), deps())).toBe(0);
      expect(out).toBe('resolv=keep\noutcome=pass\n'.repeat(2));
      expect(handled).toEqual([]);
    });

    for (const [what, change] of [
      ['a router changed', { new_routers: '10.99.0.2' }],
      ['a name server changed', { new_domain_name_servers: '10.99.0.1' }],
      ['the MTU changed', { new_interface_mtu: '1400' }],
      ['option 121 appeared', { new_rfc3442_classless_static_routes: '0 10 99 0 1' }],
    ] as const) {
      it(`${what}: the full path (handleEvent, servers-file)`, async () => {
        configured(RENEW);
        daemonUp();
        expect(await runDhclientHook(ctx({ ...RENEW, ...change }, daemonConfig()), deps())).toBe(0);
        expect(handled).toEqual(['address-up eth1 10.99.0.60 sole']);
        expect(out).toContain('outcome=handled');
      });
    }

    it('the full path when the lease has no record (on the main-table fallback, or configured differently)', async () => {
      daemonUp();
      configured({ ...RENEW, new_routers: '10.99.0.9' });
      expect(await runDhclientHook(ctx(RENEW, daemonConfig()), deps())).toBe(0);
      expect(handled).toEqual(['address-up eth1 10.99.0.60 sole']);
    });

    it('the full path when no daemon watches the kernel (watch_kernel = no, or its socket absent): the hook renews and repairs', async () => {
      configured(RENEW);
      expect(await runDhclientHook(ctx(RENEW, daemonConfig()), deps())).toBe(0);
      daemonUp();
      expect(await runDhclientHook(ctx(RENEW, `${daemonConfig()}watch_kernel = no\n`), deps())).toBe(0);
      expect(handled).toEqual(['address-up eth1 10.99.0.60 sole', 'address-up eth1 10.99.0.60 sole']);
    });

    it('the full path for a dry run (it shows the plan)', async () => {
      configured(RENEW);
      daemonUp();
      expect(await runDhclientHook(ctx(RENEW, daemonConfig(), true), deps())).toBe(0);
      expect(handled).toHaveLength(1);
    });
  });

  describe('one job per run: its events and its servers, written by whoever applies it', () => {
    it('RENEW to another address: both events and the servers in one job', async () => {
      const env = { ...BOUND, reason: 'RENEW', old_ip_address: '10.99.0.59', old_subnet_mask: '255.255.255.0' };
      expect(await runDhclientHook(ctx(env), deps())).toBe(0);
      expect(jobs).toEqual(['address-down,address-up dns 10.99.0.1 192.0.2.53']);
      expect(handled).toEqual(['address-down eth1 10.99.0.59', 'address-up eth1 10.99.0.60 sole']);
      expect(servers()).toEqual(['server=10.99.0.1@eth1', 'server=192.0.2.53@eth1']);
      expect(out).toContain('outcome=handled');
    });

    it('an earlier event failed: the next is not applied, the servers are written, exit 1', async () => {
      const env = { ...BOUND, reason: 'RENEW', old_ip_address: '10.99.0.59', old_subnet_mask: '255.255.255.0' };
      expect(await runDhclientHook(ctx(env), deps({ fail: (e) => e.kind === 'address-down' }))).toBe(1);
      expect(handled).toEqual(['address-down eth1 10.99.0.59']);
      expect(servers()).toEqual(['server=10.99.0.1@eth1', 'server=192.0.2.53@eth1']);
      expect(logLines.join('\n')).toContain('routing not configured: ip failed for address-down eth1 10.99.0.59');
    });

    it('TIMEOUT: the servers wait for the probe, in a job of their own', async () => {
      expect(await runDhclientHook(ctx({ ...BOUND, reason: 'TIMEOUT' }), deps({ pingOk: true }))).toBe(0);
      expect(jobs).toEqual(['address-up', '(no event) dns 10.99.0.1 192.0.2.53']);
      expect(await runDhclientHook(ctx({ ...BOUND, reason: 'TIMEOUT' }), deps({ pingOk: false }))).toBe(0);
      expect(jobs.slice(2)).toEqual(['address-up', 'address-down dns (none)']);
    });

    it('per-uplink DNS off: the servers go in the job, whose writer removes rather than writes them', async () => {
      expect(await runDhclientHook(ctx(BOUND, 'dnsmasq_mode = no\n'), deps())).toBe(0);
      expect(jobs).toEqual(['address-up dns 10.99.0.1 192.0.2.53']);
      expect(servers()).toBeUndefined();
    });
  });
});
