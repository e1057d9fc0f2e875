// The Debian package: built once (npm run package's script, into a temp dir),
// its contents and control fields as an operator would check them, lintian
// clean (every remaining finding overridden with a reason), and a real
// `dpkg -i` / `dpkg --purge` inside a test-bed host whose /etc, /run, /usr and
// /var are private (overlays: the machine's dpkg database and files are never
// written). No systemd there, so postinst starts the daemon directly; the
// unit is checked with systemd-analyze verify against the installed files.

import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import tmp from 'tmp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAlive, readPidFile } from '../helpers/cleanup.js';
import { createTestBed, waitFor, type TestBed } from '../helpers/testbed.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const VERSION = `${JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}-1`;
const NAME = 'multihomed-routing';

const FILES = [
  '755 /usr/sbin/multihomed-routing',
  '644 /lib/systemd/system/multihomed-routing.service',
  '644 /lib/systemd/system/multihomed-routing.socket',
  '644 /lib/udev/rules.d/99-multihomed-routing.rules',
  '644 /etc/multihomed-routing/multihomed-routing.conf',
  '755 /etc/network/if-up.d/multihomed-routing',
  '755 /etc/network/if-post-down.d/multihomed-routing',
  '644 /etc/dhcp/dhclient-enter-hooks.d/multihomed-routing',
  '644 /etc/dnsmasq.d/multihomed-routing.conf',
  '755 /etc/multihomed-routing/events.d/example.disabled',
  '644 /usr/share/man/man8/multihomed-routing.8.gz',
  '644 /usr/share/doc/multihomed-routing/copyright',
  '644 /usr/share/doc/multihomed-routing/changelog.Debian.gz',
  '644 /usr/share/lintian/overrides/multihomed-routing',
];
const CONFFILES = FILES.map((f) => f.split(' ')[1]!).filter((p) => p.startsWith('/etc/')).sort();

let out: tmp.DirResult;
let deb: string;

beforeAll(async () => {
  out = tmp.dirSync({ prefix: 'mhr-pkg-', unsafeCleanup: true });
  // test/global-setup.ts built dist/multihomed-routing; package exactly that.
  await execa('npx', ['zx', path.join(ROOT, 'build/package.mjs'), '--no-build', '--out', out.name], { cwd: ROOT });
  deb = path.join(out.name, `${NAME}_${VERSION}_${(await execa('dpkg', ['--print-architecture'])).stdout.trim()}.deb`);
}, 300_000);
afterAll(() => out?.removeCallback());

describe('the .deb', () => {
  test('holds the installed layout with Debian paths and modes, root-owned', async () => {
    const lines = (await execa('dpkg-deb', ['-c', deb])).stdout.split('\n');
    const files = lines.filter((l) => l.startsWith('-')).map((l) => {
      const [perm, owner, , , , p] = l.split(/\s+/);
      expect(owner, p).toBe('root/root');
      const mode = [...perm!.slice(1)].reduce((acc, c, i) => acc + (c === '-' ? 0 : [4, 2, 1][i % 3]! * 8 ** (2 - Math.floor(i / 3))), 0);
      return `${mode.toString(8)} ${p!.slice(1)}`;
    });
    expect(files.sort()).toEqual([...FILES].sort());
    // Hooks and unit point at /usr/sbin, rendered by install.sh.
    const x = tmp.dirSync({ prefix: 'mhr-pkg-x-', unsafeCleanup: true });
    try {
      await execa('dpkg-deb', ['-x', deb, x.name]);
      const read = (p: string) => fs.readFileSync(path.join(x.name, p), 'utf8');
      expect(read('lib/systemd/system/multihomed-routing.service')).toContain(`ExecStart=/usr/sbin/${NAME} --config /etc/${NAME}/${NAME}.conf daemon\n`);
      expect(read('etc/network/if-up.d/multihomed-routing')).toContain(`exec /usr/sbin/${NAME} --config /etc/${NAME}/${NAME}.conf ifupdown\n`);
      expect(read('etc/dhcp/dhclient-enter-hooks.d/multihomed-routing')).toContain(`mhr_exe='/usr/sbin/${NAME}'\n`);
      expect(read('lib/udev/rules.d/99-multihomed-routing.rules')).toContain(`/usr/sbin/${NAME} --config /etc/${NAME}/${NAME}.conf udev-remove"`);
      expect(read(`etc/${NAME}/${NAME}.conf`)).toBe((await execa(path.join(x.name, 'usr/sbin', NAME), ['config', 'defaults'])).stdout + '\n');
    } finally {
      x.removeCallback();
    }
  });

  test('control fields, conffiles and maintainer scripts', async () => {
    const field = async (f: string) => (await execa('dpkg-deb', ['-f', deb, f])).stdout.trim();
    expect(await field('Package')).toBe(NAME);
    expect(await field('Version')).toBe(VERSION);
    expect(await field('Depends')).toMatch(/^libc6 \(>= [\d.]+\).*, iproute2, init-system-helpers/);
    expect(Number(await field('Installed-Size'))).toBeGreaterThan(50_000);
    const info = tmp.dirSync({ prefix: 'mhr-pkg-c-', unsafeCleanup: true });
    try {
      await execa('dpkg-deb', ['-e', deb, info.name]);
      expect(fs.readFileSync(path.join(info.name, 'conffiles'), 'utf8').trim().split('\n')).toEqual(CONFFILES);
      for (const s of ['postinst', 'prerm', 'postrm']) {
        expect(fs.statSync(path.join(info.name, s)).mode & 0o777).toBe(0o755);
        await execa('sh', ['-n', path.join(info.name, s)]);
      }
      expect(fs.readFileSync(path.join(info.name, 'prerm'), 'utf8')).toMatch(/cleanup/);
    } finally {
      info.removeCallback();
    }
  });

  test('lintian: no error or warning that is not overridden with a reason', async () => {
    const r = await execa('lintian', ['--no-cfg', '--fail-on', 'error,warning', '--display-info', deb], { reject: false });
    expect(r.stdout.split('\n').filter((l) => /^[EW]:/.test(l))).toEqual([]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  }, 180_000);
});

describe('dpkg -i and dpkg --purge in a test-bed host', () => {
  let bed: TestBed;
  /** Asked inside the host (an overlay's upper dir alone does not tell deleted from absent). */
  const exists = async (p: string) => (await bed.host.exec(['test', '-e', p], { reject: false })).exitCode === 0;
  const ourRules = async () => [...(await bed.host.rules(4)), ...(await bed.host.rules(6))].filter((r) => r.protocol === '201');
  const ourRoutes = async () => (await bed.host.exec(['ip', 'route', 'show', 'table', 'all', 'proto', '201'])).stdout.trim();
  // The host's /etc, /usr and /var show the machine's files underneath: what
  // the host showed before `dpkg -i` (a machine that once had the product) is
  // not this test's to check after the purge.
  const STATE = ['/var/lib/multihomed-routing', '/run/multihomed-routing', '/run/multihomed-routing.pid', '/etc/multihomed-routing'];
  let before: string[] = [];
  const created = (paths: string[]) => paths.filter((p) => !before.includes(p));
  const machineExe = () => (fs.existsSync(`/usr/sbin/${NAME}`) ? `${fs.statSync(`/usr/sbin/${NAME}`).mtimeMs}` : 'absent');
  let machineExeBefore = '';

  beforeAll(async () => {
    bed = await createTestBed({
      name: 'pkghost',
      routers: [{ hostIfname: 'eth0', nat: false, ipv4: { subnet: '10.62.0.0/24', address: '10.62.0.1' } }],
      // dpkg's database and logs, the packaged files under /usr (and /lib → usr/lib), man-db's cache.
      hostOverlays: ['/usr', '/var'],
      hostEtc: {
        'network/interfaces': 'auto lo\niface lo inet loopback\n\niface eth0 inet static\n    address 10.62.0.2/24\n    gateway 10.62.0.1\n',
        'network/if-up.d/resolved': '#!/bin/sh\nexit 0\n',
      },
    });
    fs.chmodSync(bed.host.path('/etc/network/if-up.d/resolved'), 0o755);
    for (const p of [...FILES.map((f) => f.split(' ')[1]!), ...STATE]) if (await exists(p)) before.push(p);
    machineExeBefore = machineExe();
  }, 120_000);
  afterAll(() => bed?.destroy());

  test('installs: files in place, the daemon runs (started directly), the unit verifies', async () => {
    const r = await bed.host.exec(['dpkg', '-i', deb], { reject: false, timeoutMs: 120_000 });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain('no systemd: daemon started directly');
    expect((await bed.host.exec(['dpkg-query', '-W', '-f', '${Status}', NAME])).stdout).toBe('install ok installed');
    for (const f of FILES) expect(await exists(f.split(' ')[1]!), f).toBe(true);
    // The machine's own files are as they were.
    expect(machineExe()).toBe(machineExeBefore);
    const pid = (await waitFor('daemon pid file', () => readPidFile(bed.host.path('/run/multihomed-routing.pid'))))!;
    expect(isAlive(pid)).toBe(true);
    await waitFor('allocator socket', () => exists('/run/multihomed-routing/allocator/allocator.sock'));
    const v = await bed.host.exec(['systemd-analyze', 'verify', `${NAME}.socket`, `${NAME}.service`], { reject: false });
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
  }, 180_000);

  test('the installed hooks work: ifup makes rules and a table', async () => {
    await bed.host.ifup('eth0');
    await waitFor('our rules', async () => (await ourRules()).length >= 4);
    expect(await bed.host.sysctl('net.ipv4.conf.eth0.rp_filter')).toBe('2');
  });

  test('purge: prerm cleans the routing up, nothing of the package or its state is left', async () => {
    const pid = readPidFile(bed.host.path('/run/multihomed-routing.pid'))!;
    const r = await bed.host.exec(['dpkg', '--purge', NAME], { reject: false, timeoutMs: 120_000 });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(isAlive(pid)).toBe(false);
    expect(await ourRules()).toEqual([]);
    expect(await ourRoutes()).toBe('');
    expect(await bed.host.sysctl('net.ipv4.conf.eth0.rp_filter')).toBe('1');
    const main = (await bed.host.exec(['ip', '-4', 'route', 'show', 'table', 'main'])).stdout;
    expect(main).toContain('default via 10.62.0.1 dev eth0');
    for (const p of created([...FILES.map((f) => f.split(' ')[1]!), ...STATE])) expect(await exists(p), p).toBe(false);
    const q = await bed.host.exec(['dpkg-query', '-W', NAME], { reject: false });
    expect(q.exitCode).not.toBe(0);
  }, 120_000);
});
