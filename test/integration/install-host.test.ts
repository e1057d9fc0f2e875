// install.sh "for real", at its real paths, inside a test-bed host: /etc, /run,
// /usr/local, /var/log and /var/lib are private to the host (overlays and
// binds in its mount namespace), so nothing of the machine is written. No
// systemd there: install.sh starts the daemon directly. An uplink comes up
// with real ifup; then --uninstall must leave no file of ours, no rule or
// route with our protocol, the sysctls as they were, main's routes back, and
// no daemon.
//
// The host's /etc, /usr/local, /var/log and /var/lib show the machine's own
// files underneath: a machine where the product was once installed lends the
// host its leftovers. So every check reads the host's view (a removed file of
// the machine's is a whiteout in the overlay's upper layer, not an absent
// file there), and asserts only on what this test's install created: what
// the host showed before it is left out.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAlive, readPidFile } from '../helpers/cleanup.js';
import { DOCKER_RULES, rulesetWithoutOurs } from '../helpers/docker-rules.js';
import { createTestBed, waitFor, type TestBed } from '../helpers/testbed.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const INSTALL = path.join(ROOT, 'install.sh');
const EXE = path.join(ROOT, 'dist/multihomed-routing');

const LAYOUT = [
  '/usr/local/sbin/multihomed-routing',
  '/usr/local/share/man/man8/multihomed-routing.8',
  '/etc/systemd/system/multihomed-routing.service',
  '/etc/systemd/system/multihomed-routing.socket',
  '/etc/multihomed-routing/multihomed-routing.conf',
  '/etc/network/if-up.d/multihomed-routing',
  '/etc/network/if-post-down.d/multihomed-routing',
  '/etc/dhcp/dhclient-enter-hooks.d/multihomed-routing',
  '/etc/dnsmasq.d/multihomed-routing.conf',
  '/etc/udev/rules.d/99-multihomed-routing.rules',
];
const PIDFILE = '/run/multihomed-routing.pid';
const STATE = ['/var/lib/multihomed-routing', '/run/multihomed-routing', '/var/log/multihomed-routing.log'];
const MACHINE_EXE = '/usr/local/sbin/multihomed-routing';

const INTERFACES = `auto lo
iface lo inet loopback

iface eth0 inet static
    address 10.61.0.2/24
    gateway 10.61.0.1
`;

describe('install.sh on a host (test bed), then --uninstall', () => {
  let bed: TestBed;
  /** Paths the host showed before the install: not this test's to check. */
  let before: string[];
  const sh = (args: string[]) => bed.host.exec(['bash', INSTALL, ...args], { reject: false, timeoutMs: 120_000 });
  /** Which of `paths` exist as the host sees them. */
  const present = async (paths: string[]) =>
    (await bed.host.exec(['sh', '-c', 'for p; do [ -e "$p" ] && echo "$p"; done; true', 'sh', ...paths])).stdout.split('\n').filter(Boolean);
  const exists = async (p: string) => (await present([p])).length > 0;
  /** Of `paths`, those this test's install made (absent before it). */
  const created = (paths: string[]) => paths.filter((p) => !before.includes(p));
  /** The machine's own executable, as it was when the test began. */
  const machineExe = () => (fs.existsSync(MACHINE_EXE) ? `${fs.statSync(MACHINE_EXE).mtimeMs}` : 'absent');
  let machineExeBefore: string;
  let dockerBefore: string;
  const nftTables = async () => (await bed.host.exec(['nft', 'list', 'tables'])).stdout;
  const oursIn = async (what: 'rule' | 'route') => {
    const out: string[] = [];
    for (const f of [4, 6] as const) {
      if (what === 'rule') {
        out.push(...(await bed.host.rules(f)).filter((r) => r.protocol === '201').map((r) => JSON.stringify(r)));
      } else {
        const r = await bed.host.exec(['ip', `-${f}`, 'route', 'show', 'table', 'all', 'proto', '201']);
        out.push(...r.stdout.split('\n').filter(Boolean));
      }
    }
    return out;
  };
  const daemonPid = () => readPidFile(bed.host.path(PIDFILE));

  beforeAll(async () => {
    bed = await createTestBed({
      name: 'insthost',
      routers: [{ hostIfname: 'eth0', nat: false, ipv4: { subnet: '10.61.0.0/24', address: '10.61.0.1' } }],
      hostOverlays: ['/usr/local', '/var/log', '/var/lib'],
      hostEtc: {
        'network/interfaces': INTERFACES,
        // The machine's resolved hook would ask systemctl: not part of this test.
        'network/if-up.d/resolved': '#!/bin/sh\nexit 0\n',
      },
    });
    fs.chmodSync(bed.host.path('/etc/network/if-up.d/resolved'), 0o755);
    // A Docker host: forwarding on, Docker's tables in nftables.
    await bed.host.setSysctl({ 'net.ipv4.ip_forward': 1 });
    await bed.host.exec(['nft', '-f', '-'], { input: DOCKER_RULES });
    dockerBefore = await rulesetWithoutOurs(bed.host);
    before = await present([...LAYOUT, PIDFILE, ...STATE]);
    machineExeBefore = machineExe();
  });
  afterAll(() => bed?.destroy());

  test('installs every file of the layout, starts the daemon directly (no systemd), says what is next', async () => {
    const r = await sh(['--binary', EXE]);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(await present(LAYOUT)).toEqual(LAYOUT);
    // Real paths only inside the host: the machine's own are as they were.
    expect(machineExe()).toBe(machineExeBefore);
    expect(r.stdout).toContain('no systemd: started the daemon directly');
    expect(r.stdout).toMatch(/Next:\n/);
    const pid = (await waitFor('daemon pid', () => daemonPid()))!;
    expect(isAlive(pid)).toBe(true);
    await waitFor('allocator socket', () => exists('/run/multihomed-routing/allocator/allocator.sock'));
  });

  test('a second run changes no file', async () => {
    const stat = async () => (await bed.host.exec(['stat', '-c', '%n %.9Y %a', ...LAYOUT])).stdout;
    const first = await stat();
    expect(first.split('\n').filter(Boolean)).toHaveLength(LAYOUT.length);
    const r = await sh(['--binary', EXE]);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(await stat()).toBe(first);
    expect(r.stdout).not.toMatch(/^installed /m);
    await waitFor('daemon pid', () => daemonPid());
    await waitFor('allocator socket', () => exists('/run/multihomed-routing/allocator/allocator.sock'));
  });

  test('ifup eth0: the installed hooks make rules and a table', async () => {
    expect(await bed.host.sysctl('net.ipv4.conf.eth0.rp_filter')).toBe('1');
    await bed.host.ifup('eth0');
    await waitFor('our rules', async () => (await oursIn('rule')).length >= 4);
    expect((await oursIn('rule')).join('\n')).toContain('"priority":10000,"src":"10.61.0.2"');
    expect(await bed.host.sysctl('net.ipv4.conf.eth0.rp_filter')).toBe('2');
    const main = (await bed.host.exec(['ip', '-4', 'route', 'show', 'table', 'main'])).stdout;
    expect(main).not.toContain('default via 10.61.0.1');
    // The reply marks of a forwarding host, in our own table only (docs/forwarding.md).
    await waitFor('our nftables table', async () => (await nftTables()).includes('table inet multihomed_routing'));
    expect(await rulesetWithoutOurs(bed.host)).toBe(dockerBefore);
  });

  test('--uninstall --dry-run lists the cleanup and changes nothing', async () => {
    const r = await sh(['--uninstall', '--dry-run']);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('would run: /usr/local/sbin/multihomed-routing --config /etc/multihomed-routing/multihomed-routing.conf cleanup');
    expect(r.stdout).toMatch(/ip -4 rule del pref 10000 from 10\.61\.0\.2\/32 lookup \d+ protocol 201/);
    expect(r.stdout).toMatch(/ip -4 route add default via 10\.61\.0\.1 dev eth0 table 254 proto 3 metric 0/);
    expect(await present(LAYOUT)).toEqual(LAYOUT);
    expect((await oursIn('rule')).length).toBeGreaterThan(0);
  });

  test('--uninstall: no file, rule, route or daemon of ours; sysctls and main as before', async () => {
    const pid = daemonPid()!;
    const r = await sh(['--uninstall']);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(await present(created([...LAYOUT, PIDFILE]))).toEqual([]);
    expect(isAlive(pid)).toBe(false);
    expect(await oursIn('rule')).toEqual([]);
    expect(await oursIn('route')).toEqual([]);
    expect(await nftTables()).not.toContain('multihomed_routing');
    expect(await rulesetWithoutOurs(bed.host)).toBe(dockerBefore);
    expect(await bed.host.sysctl('net.ipv4.conf.eth0.rp_filter')).toBe('1');
    expect(await exists('/run/multihomed-routing/sysctl/eth0.json')).toBe(false);
    // Main has what ifup gave it without us, so the host keeps its connectivity.
    const main = (await bed.host.exec(['ip', '-4', 'route', 'show', 'table', 'main'])).stdout;
    expect(main).toContain('default via 10.61.0.1 dev eth0');
    expect(main).toMatch(/10\.61\.0\.0\/24 dev eth0 proto kernel scope link src 10\.61\.0\.2/);
    expect(await bed.host.ping('10.61.0.1')).toBe(true);
  });

  test('--uninstall --purge also removes the state; running it again finds nothing to do', async () => {
    const r = await sh(['--uninstall', '--purge']);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(await present(created(STATE))).toEqual([]);
    const again = await sh(['--uninstall', '--purge']);
    expect(again.exitCode, again.stderr + again.stdout).toBe(0);
    expect(again.stdout).not.toMatch(/^removed /m);
  });
});
