// Sets a test bed's host up like install.sh would for the routing hooks:
// the bundle behind /etc/network/if-up.d and if-post-down.d shims, a config
// whose every path is private to the host (/run), and the allocator daemon.

import fs from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import type { ExecResult, HostNetns, IpRoute, IpRule, SpawnedProcess, TestBed } from '../helpers/testbed.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
/** The single executable (built by test/global-setup.ts): tests run what ships. */
export const EXE = path.join(ROOT, 'dist/multihomed-routing');
export const CONFIG = '/etc/multihomed-routing/multihomed-routing.conf';

export const cli = (host: HostNetns, args: string[], env: Record<string, string> = {}): Promise<ExecResult> =>
  host.exec([EXE, ...args], { reject: false, env });

export interface RoutingHost {
  daemon?: SpawnedProcess;
  startDaemon(): Promise<void>;
  stopDaemon(): Promise<void>;
  /** Runs the ifupdown hook directly with an ifupdown-style environment. */
  hook(env: Record<string, string>): Promise<ExecResult>;
  status(): Promise<StatusJson[]>;
}

export interface StatusJson {
  ifname: string;
  family: number;
  address: string;
  table: number;
  degraded: boolean;
  rules: string[];
  routes: string[];
  problems: string[];
}

/** Installs hooks, config and daemon into the bed's host; `interfaces` is /etc/network/interfaces. */
export async function setUpRoutingHost(bed: TestBed, interfaces: string, extraConfig = ''): Promise<RoutingHost> {
  const host = bed.host;
  await host.writeEtc(
    'multihomed-routing/multihomed-routing.conf',
    // health_check = no unless extraConfig turns it on: background probes would move the routers' counters tests compare.
    `syslog = no\nstore_path = /run/multihomed-routing/leases.json\nhealth_check = no\n${extraConfig}`,
  );
  // What install.sh writes (gen_ifupdown_hook), with the config's default path.
  const shim = `#!/bin/sh\nexec ${EXE} --config ${CONFIG} ifupdown\n`;
  await host.writeEtc('network/if-up.d/multihomed-routing', shim, 0o755);
  await host.writeEtc('network/if-post-down.d/multihomed-routing', shim, 0o755);
  // The machine's resolved hook would ask systemctl: not part of these tests.
  await host.writeEtc('network/if-up.d/resolved', '#!/bin/sh\nexit 0\n', 0o755);
  await host.writeEtc('network/interfaces', `auto lo\niface lo inet loopback\n\n${interfaces}`);
  const r: RoutingHost = {
    // Returns once every service runs and the watcher's first pass (the take-over) is done: the socket listens before the
    // watcher starts, and an address added in between would be taken over instead of reported by its hook.
    async startDaemon() {
      const d = (r.daemon = host.spawn([EXE, 'daemon'], { logName: 'daemon' })); // nsenter execs: the daemon's own pid
      const view = host.path('/run/multihomed-routing/daemon-view.json');
      const viewPid = () => { try { return (JSON.parse(fs.readFileSync(view, 'utf8')) as { pid?: number }).pid; } catch { return undefined; } };
      const started = new RegExp(`daemon started pid=${d.pid} services="([^"]*)"`);
      let ready = false;
      for (let i = 0; i < 200 && !ready; i++) {
        const services = started.exec(fs.readFileSync(d.logFile, 'utf8'))?.[1]?.split(',');
        ready = !!services && (!services.includes('watcher') || viewPid() === d.pid);
        if (!ready) await new Promise((res) => setTimeout(res, 50));
      }
      if (!ready) {
        const ls = await host.exec(['ls', '-la', '/run', '/run/multihomed-routing'], { reject: false });
        throw new Error(`daemon did not start, or its first pass did not end, within 10 s: ${JSON.stringify(bed.resources())}\n${ls.stdout}${ls.stderr}\n${fs.readFileSync(d.logFile, 'utf8')}`);
      }
    },
    async stopDaemon() {
      r.daemon?.kill('SIGTERM');
      await r.daemon?.exited;
      r.daemon = undefined;
    },
    hook: (env) => cli(host, ['ifupdown'], env),
    async status() {
      const res = await cli(host, ['status', '--json']);
      if (res.exitCode !== 0) throw new Error(`status failed: ${res.stderr}`);
      return JSON.parse(res.stdout) as StatusJson[];
    },
  };
  await r.startDaemon();
  return r;
}

/** Our rules (protocol 201) of a family, as `pref:selector:table` strings, sorted. */
export async function ourRules(host: HostNetns, family: 4 | 6 = 4): Promise<string[]> {
  const rules = await host.ipJson<IpRule[]>(['-N', `-${family}`, 'rule', 'show']);
  return rules
    .filter((r) => r.protocol === '201')
    .map((r) => {
      // The band rule (`from all`) shows no selector; main's suppress rule shows as ip prints it.
      if (r.table === '254' && r.suppress_prefixlen !== undefined) return `${r.priority} lookup main suppress_prefixlength ${r.suppress_prefixlen}`;
      const sel = r.src && r.src !== 'all' ? ` from ${r.src}` : r.dst ? ` to ${r.dst}/${r.dstlen}` : r.iif ? ` iif ${r.iif}` : r.oif ? ` oif ${r.oif}` : '';
      return `${r.priority}${sel} lookup ${r.table}`;
    })
    .sort();
}

/** Routes of a table as short strings (`dst via G dev I src A`). */
export async function tableRoutes(host: HostNetns, table: number | string, family: 4 | 6 = 4): Promise<string[]> {
  const routes = await host.ipJson<IpRoute[]>(['-N', `-${family}`, 'route', 'show', 'table', String(table)]);
  return routes
    .map((r) => [r.dst, r.gateway && `via ${r.gateway}`, r.dev && `dev ${r.dev}`, r.prefsrc && `src ${r.prefsrc}`, r.protocol === '201' ? 'ours' : `proto ${r.protocol ?? 'boot'}`].filter(Boolean).join(' '))
    .sort();
}

const NM_CACHE = path.join(ROOT, 'node_modules/.cache/multihomed-routing/01-ifupdown');

/**
 * Debian's /etc/NetworkManager/dispatcher.d/01-ifupdown, from the
 * network-manager package (downloaded once, extracted, never installed).
 */
export async function networkManagerDispatcher(): Promise<string> {
  if (!fs.existsSync(NM_CACHE)) {
    const dir = fs.mkdtempSync('/tmp/mhr-nm-deb-');
    try {
      await execa('apt-get', ['download', 'network-manager'], { cwd: dir });
      const deb = fs.readdirSync(dir).find((f) => f.endsWith('.deb'))!;
      await execa('dpkg-deb', ['-x', deb, 'x'], { cwd: dir });
      fs.mkdirSync(path.dirname(NM_CACHE), { recursive: true });
      fs.copyFileSync(path.join(dir, 'x/etc/NetworkManager/dispatcher.d/01-ifupdown'), NM_CACHE);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return fs.readFileSync(NM_CACHE, 'utf8');
}

/** One line to the daemon's socket, the reply line (or what came before the close). */
export function exchange(socket: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    let got = '';
    c.on('connect', () => c.write(line));
    c.on('data', (b) => {
      got += b.toString();
      if (got.includes('\n')) {
        c.destroy();
        resolve(got.trim());
      }
    });
    c.on('close', () => resolve(got.trim()));
    c.on('error', reject);
  });
}
