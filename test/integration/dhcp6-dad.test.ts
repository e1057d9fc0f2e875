// DHCPv6 with duplicate address detection on, as on every real host (the
// other beds turn it off so addresses are usable at once). The address the
// hook adds stays tentative for up to ~2 s, and the kernel refuses it as the
// `src` of a route meanwhile: the hook must wait for DAD and then configure
// the table, not fail and leave the address to dhclient-script. (Even with
// DAD off the address is tentative for the moment the kernel's DAD work
// takes: this failed in CI under load before the wait.)

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestBed, waitFor, type TestBed } from '../helpers/testbed.js';

const ROOT = join(import.meta.dirname, '../..');
const BUNDLE = join(ROOT, 'dist/multihomed-routing.cjs');
let bed: TestBed;
let daemonLog: string;

beforeAll(async () => {
  if (!existsSync(BUNDLE)) execFileSync('npx', ['zx', 'build/build.mjs', '--bundle-only'], { cwd: ROOT, stdio: 'ignore' });
  bed = await createTestBed({
    name: 'dad6',
    dad: true,
    routers: [
      {
        hostIfname: 'eth0',
        ipv4: { subnet: '192.168.61.0/24', address: '192.168.61.1' },
        ipv6: { subnet: '2001:db8:61::/64', address: '2001:db8:61::1' },
        dhcp6: { range: ['2001:db8:61::100', '2001:db8:61::1ff'], leaseTime: '2m' },
      },
    ],
  });
  mkdirSync(join(bed.dir, 'sbin'));
  const exe = join(bed.dir, 'sbin/multihomed-routing');
  writeFileSync(exe, `#!/bin/sh\nexec '${process.execPath}' '${BUNDLE}' "$@"\n`);
  chmodSync(exe, 0o755);
  await bed.host.writeEtc('multihomed-routing/multihomed-routing.conf', 'syslog = no\nstore_path = /run/multihomed-routing/leases.json\n');
  await bed.host.writeEtc(
    'dhcp/dhclient-enter-hooks.d/multihomed-routing',
    execFileSync(join(ROOT, 'install.sh'), ['--print', 'dhclient-hook', '--prefix', bed.dir], { encoding: 'utf8' }),
  );
  daemonLog = bed.host.spawn([exe, '--verbose', 'daemon'], { logName: 'daemon' }).logFile;
  await waitFor('the daemon socket', () => existsSync(bed.host.path('/run/multihomed-routing/allocator/allocator.sock')), 5000, 50);
  // dhclient -6 binds to the link-local address: it must have passed DAD too.
  await waitFor('a usable link-local address on eth0', async () => (await bed.host.addresses('eth0', 6)).some((a) => a.scope === 'link' && !a.tentative), 10_000, 100);
}, 60_000);

afterAll(() => bed?.destroy());

it('BOUND6 with DAD on: the hook waits for it, then the address has its table, rules and RA default route with src', async () => {
  const dh = await bed.host.dhclient('eth0', { family: 6 });
  expect(dh.started.stderr).not.toMatch(/failed|leaving reason/);
  const [v6] = (await bed.host.addresses('eth0', 6)).filter((a) => a.scope === 'global');
  expect(v6?.local).toMatch(/^2001:db8:61::1[0-9a-f]{2}$/);
  expect(v6!.tentative).toBeFalsy();
  const table = (await bed.host.rules(6)).find((r) => r.src === v6!.local)?.table;
  expect(table, JSON.stringify(await bed.host.rules(6))).toMatch(/^\d+$/);
  // The RA may come after the lease: the watcher then follows it into the table.
  await waitFor(
    'the RA default route in the table, from the address',
    async () => (await bed.host.routes(table!, 6)).some((r) => r.dst === 'default' && r.prefsrc === v6!.local),
    10_000,
  );
  const stopped = await dh.stop();
  const left = (await bed.host.rules(6)).filter((r) => r.table === table);
  expect(left, `${stopped.stderr}\n--- daemon:\n${readFileSync(daemonLog, 'utf8').split('\n').slice(-30).join('\n')}`).toEqual([]);
}, 60_000);
