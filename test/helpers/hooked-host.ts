// A test bed host set up as install.sh would set up a DHCP host: the bundled
// executable at PREFIX/sbin (the bundle under this node), our config, the
// dhclient enter-hook shim as install.sh renders it (one code path), and the
// daemon running, its socket answering.

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, type SpawnedProcess, type TestBed } from './testbed.js';

const ROOT = join(import.meta.dirname, '../..');
const BUNDLE = join(ROOT, 'dist/multihomed-routing.cjs');

export interface HookedHost {
  /** The executable, as the shim runs it. */
  exe: string;
  daemon: SpawnedProcess;
}

/** The shim as install.sh renders it for an executable at PREFIX/sbin/multihomed-routing. */
export const renderShim = (prefix: string) =>
  execFileSync(join(ROOT, 'install.sh'), ['--print', 'dhclient-hook', '--prefix', prefix], { encoding: 'utf8' });

/** Installs executable, config (the lease store under the host's private /run: never the machine's /var/lib; then `extraConfig`) and shim; starts the daemon. */
export async function setUpHookedHost(bed: TestBed, extraConfig = ''): Promise<HookedHost> {
  if (!existsSync(BUNDLE)) execFileSync('npx', ['zx', 'build/build.mjs', '--bundle-only'], { cwd: ROOT, stdio: 'ignore' });
  mkdirSync(join(bed.dir, 'sbin'));
  const exe = join(bed.dir, 'sbin/multihomed-routing');
  writeFileSync(exe, `#!/bin/sh\nexec '${process.execPath}' '${BUNDLE}' "$@"\n`);
  chmodSync(exe, 0o755);
  await bed.host.writeEtc('multihomed-routing/multihomed-routing.conf', `syslog = no\nstore_path = /run/multihomed-routing/leases.json\n${extraConfig}`);
  await bed.host.writeEtc('dhcp/dhclient-enter-hooks.d/multihomed-routing', renderShim(bed.dir));
  const daemon = bed.host.spawn([exe, '--verbose', 'daemon'], { logName: 'daemon' });
  await waitFor('the daemon socket', () => existsSync(bed.host.path('/run/multihomed-routing/allocator/allocator.sock')), 10_000, 50);
  return { exe, daemon };
}
