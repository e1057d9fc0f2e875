// NODE_OPTIONS="--require x.js" reaches the executable through each entry
// point as install.sh writes it, and x.js does not run (it would write a
// marker file, as root). The bare executable is the control: there it runs.
// Each hook runs in a network namespace of its own (unshare -n), with a
// config whose state lives in the test's directory.

import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const BINARY = join(ROOT, 'dist/multihomed-routing');
let dir: string;
const marker = () => join(dir, 'marker');
const hostile = () => ({ NODE_OPTIONS: `--require ${join(dir, 'x.js')}`, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' });
const print = async (file: string) =>
  (await execa(join(ROOT, 'install.sh'), ['--print', file, '--prefix', dir, '--sysconfdir', join(dir, 'etc')])).stdout;

beforeAll(async () => {
  if (!existsSync(BINARY)) await execa('npm', ['run', 'build'], { cwd: ROOT });
  dir = mkdtempSync(join(tmpdir(), 'mhr-rtenv-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'sbin'));
  symlinkSync(BINARY, join(dir, 'sbin/multihomed-routing'));
  mkdirSync(join(dir, 'etc/multihomed-routing'), { recursive: true });
  writeFileSync(
    join(dir, 'etc/multihomed-routing/multihomed-routing.conf'),
    `syslog = no\nrun_dir = ${dir}/run\nsocket_path = ${dir}/run/allocator/allocator.sock\nstore_path = ${dir}/leases.json\n` +
      `dnsmasq_servers_file = ${dir}/run/dnsmasq-servers.conf\ndnsmasq_pid_file = ${dir}/run/dnsmasq.pid\n`,
  );
  writeFileSync(join(dir, 'x.js'), `require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'marker'))}, 'ran');\n`);
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => rmSync(marker(), { force: true }));

describe('NODE_OPTIONS=--require does not run through an entry point', () => {
  it('control: the bare executable runs it (why the entry points strip it)', async () => {
    await execa(BINARY, ['--version'], { env: hostile(), extendEnv: false });
    expect(existsSync(marker())).toBe(true);
  });

  it('the dhclient enter-hook shim (sourced as dhclient-script does)', async () => {
    const shim = join(dir, 'shim');
    writeFileSync(shim, await print('dhclient-hook'));
    const r = await execa('unshare', ['-n', 'dash', '-c', `. ${shim}; echo "reason=\${reason-unset} NODE_OPTIONS=\${NODE_OPTIONS-unset}"`], {
      env: { ...hostile(), reason: 'PREINIT', interface: 'lo' }, extendEnv: false, reject: false,
    });
    expect(r.stderr).not.toMatch(/failed|missing/);
    // PREINIT is not ours (outcome=pass): reason stays, and dhclient-script keeps its own environment.
    expect(r.stdout).toBe(`reason=PREINIT NODE_OPTIONS=${hostile().NODE_OPTIONS}`);
    expect(existsSync(marker())).toBe(false);
  });

  it('the if-up.d / if-post-down.d hook', async () => {
    const hook = join(dir, 'ifupdown-hook');
    writeFileSync(hook, await print('ifupdown-hook'), { mode: 0o755 });
    for (const MODE of ['start', 'stop']) {
      const env = { ...hostile(), MODE, PHASE: MODE === 'start' ? 'post-up' : 'post-down', IFACE: 'lo', ADDRFAM: 'inet', METHOD: 'loopback' };
      const r = await execa('unshare', ['-n', hook], { env, extendEnv: false, reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    expect(existsSync(marker())).toBe(false);
  });

  it('the udev rule (its RUN split on white space, as udev does)', async () => {
    const run = /RUN\+="([^"]*)"/.exec(await print('udev-rule'))![1]!.split(/\s+/);
    const r = await execa('unshare', ['-n', ...run], {
      env: { ...hostile(), ACTION: 'remove', SUBSYSTEM: 'net', INTERFACE: 'mhrgone0' }, extendEnv: false, reject: false,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(marker())).toBe(false);
  });
});
