// install.sh on a running host (issue 18 item 4): two uplinks already up
// (address, prefix route and default route in main, as ifupdown leaves them
// when our hook is not installed yet), then `./install.sh` for real inside a
// test-bed host (its /etc, /usr/local, /var/log and /var/lib private; no
// systemd there, so install.sh starts the daemon directly). The daemon takes
// both over: tables and rules, no hook run, no link bounced. --uninstall puts
// everything back.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAlive, readPidFile } from '../helpers/cleanup.js';
import { createTestBed, waitFor, type TestBed } from '../helpers/testbed.js';
import { tableRoutes } from './routing-host.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const INSTALL = path.join(ROOT, 'install.sh');
const EXE = path.join(ROOT, 'dist/multihomed-routing');
const PIDFILE = '/run/multihomed-routing.pid';
const UPLINKS = [['eth0', '10.81.0'], ['eth1', '10.82.0']] as const;

describe('install.sh on a host whose uplinks are already up', () => {
  let bed: TestBed;
  const sh = (args: string[]) => bed.host.exec(['bash', INSTALL, ...args], { reject: false, timeoutMs: 120_000 });
  const fromRule = async (address: string) => (await bed.host.rules(4)).find((r) => r.protocol === '201' && r.src === address);
  const link = async (ifname: string) => {
    const [l] = await bed.host.ipJson<{ ifindex: number; flags: string[]; stats64: { tx: { packets: number; carrier_changes?: number } } }[]>(['-s', '-s', 'link', 'show', 'dev', ifname]);
    return { ifindex: l!.ifindex, lowerUp: l!.flags.includes('LOWER_UP'), carrierChanges: l!.stats64.tx.carrier_changes };
  };

  beforeAll(async () => {
    bed = await createTestBed({
      name: 'insttake',
      routers: UPLINKS.map(([dev, net]) => ({ hostIfname: dev, ipv4: { subnet: `${net}.0/24`, address: `${net}.1` } })),
      hostOverlays: ['/usr/local', '/var/log', '/var/lib'],
      // The machine's resolved hook would ask systemctl: not part of this test.
      hostEtc: { 'network/interfaces': 'auto lo\niface lo inet loopback\n', 'network/if-up.d/resolved': '#!/bin/sh\nexit 0\n' },
    });
    for (const [i, [dev, net]] of UPLINKS.entries()) {
      await bed.host.exec(['ip', 'link', 'set', dev, 'up']);
      await bed.host.exec(['ip', 'addr', 'add', `${net}.2/24`, 'dev', dev]);
      await bed.host.exec(['ip', 'route', 'add', 'default', 'via', `${net}.1`, 'dev', dev, 'metric', String(i * 100)]);
    }
  }, 180_000);
  afterAll(async () => {
    const pid = bed && readPidFile(bed.host.path(PIDFILE));
    if (pid && isAlive(pid)) process.kill(pid, 'SIGTERM');
    bed?.destroy();
  });

  test('the daemon install.sh starts takes both uplinks over: tables and rules, no hook run, no link bounced; --uninstall puts main back', async () => {
    const before = Object.fromEntries(await Promise.all(UPLINKS.map(async ([dev]) => [dev, await link(dev)] as const)));
    expect(before.eth0!.carrierChanges).toBeDefined();
    const mainBefore = await tableRoutes(bed.host, 'main');
    const r = await sh(['--binary', EXE]);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('no systemd: started the daemon directly');
    for (const [dev, net] of UPLINKS) {
      const rule = await waitFor(`the table of ${net}.2`, () => fromRule(`${net}.2`), 10_000, 50);
      expect(await tableRoutes(bed.host, rule!.table)).toEqual([`${net}.0/24 dev ${dev} src ${net}.2 ours`, `default via ${net}.1 dev ${dev} src ${net}.2 ours`]);
      const now = await link(dev);
      expect(now).toEqual(before[dev]); // same interface, carrier never lost
      expect(await bed.host.ping(bed.internet.address4, { from: `${net}.2` })).toBe(true);
    }
    expect(await tableRoutes(bed.host, 'main')).toEqual(mainBefore);
    const log = await bed.host.readFile('/var/log/multihomed-routing.log');
    expect(log.match(/adopted: present when the daemon started, without a table: taken over/g)).toHaveLength(2);
    // No hook ran: only the daemon's lines, none from ifupdown or dhclient.
    expect(log).not.toMatch(/multihomed-routing (ifupdown|dhclient-hook):/);

    const un = await sh(['--uninstall']);
    expect(un.exitCode, un.stderr + un.stdout).toBe(0);
    expect((await bed.host.rules(4)).filter((x) => x.protocol === '201')).toEqual([]);
    expect(await tableRoutes(bed.host, 'main')).toEqual(mainBefore);
    for (const [dev] of UPLINKS) expect(await link(dev)).toEqual(before[dev]);
  });
});
