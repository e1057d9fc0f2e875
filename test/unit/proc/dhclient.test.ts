import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dhclientInterfaces, findDhclients, parseCmdline } from '../../../lib/proc/dhclient.js';

describe('dhclient command lines', () => {
  it.each([
    [['/sbin/dhclient', '-4', '-v', '-i', '-pf', '/run/dhclient.eth1.pid', '-lf', '/var/lib/dhcp/dhclient.eth1.leases', '-I', '-df', '/var/lib/dhcp/dhclient6.eth1.leases', 'eth1'], ['eth1']],
    // NetworkManager's
    [['/sbin/dhclient', '-d', '-q', '-sf', '/usr/lib/NetworkManager/nm-dhcp-helper', '-pf', '/run/NetworkManager/dhclient-eth10.pid', '-lf', '/var/lib/NetworkManager/dhclient-x-eth10.lease', '-cf', '/var/lib/NetworkManager/dhclient-eth10.conf', 'eth10'], ['eth10']],
    [['dhclient', '-e', 'IF_METRIC=eth1', '-cf', 'eth1', 'eth1.100'], ['eth1.100']], // option values are not interfaces
    [['dhclient', 'eth0', 'eth1'], ['eth0', 'eth1']],
    [['/usr/bin/sleep', 'eth1'], undefined],
    [['/usr/sbin/dhclient-script'], undefined],
  ])('%j → %j', (argv, want) => {
    expect(dhclientInterfaces(argv)).toEqual(want);
  });

  it('parses /proc/PID/cmdline', () => {
    expect(parseCmdline('dhclient\0-pf\0/run/x.pid\0eth1\0')).toEqual(['dhclient', '-pf', '/run/x.pid', 'eth1']);
  });
});

describe('findDhclients', () => {
  const root = mkdtempSync(join(tmpdir(), 'mhr-dhc-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const proc = join(root, 'proc');
  const run = join(root, 'run');
  const nm = join(root, 'nm');
  mkdirSync(run, { recursive: true });
  mkdirSync(nm, { recursive: true });
  const planted = (pid: number, argv: string[], pidFile?: string) => {
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
    if (pidFile) writeFileSync(pidFile, `${pid}\n`);
  };
  planted(101, ['/sbin/dhclient', '-4', '-pf', '/run/dhclient.eth1.pid', 'eth1'], join(run, 'dhclient.eth1.pid'));
  planted(102, ['/sbin/dhclient', '-pf', '/run/dhclient.eth10.pid', 'eth10'], join(run, 'dhclient.eth10.pid'));
  planted(103, ['/sbin/dhclient', '-pf', '/run/dhclient.eth1.100.pid', 'eth1.100'], join(run, 'dhclient.eth1.100.pid'));
  planted(104, ['/sbin/dhclient', '-6', '-pf', '/run/NetworkManager/dhclient6-eth1.pid', 'eth1'], join(nm, 'dhclient6-eth1.pid'));
  planted(105, ['/sbin/dhclient', 'eth0', 'eth1'], join(run, 'dhclient-shared.pid'));
  writeFileSync(join(run, 'dhclient.stale.pid'), '999\n'); // no such process
  planted(106, ['/usr/bin/sleep', 'eth1'], join(run, 'dhclient.eth1.x.pid')); // pid file names something else
  writeFileSync(join(run, 'dhclient.garbage.pid'), 'eth1; rm -rf /\n');

  it('finds exactly eth1\'s clients (ifupdown and NetworkManager layouts), never eth10\'s or eth1.100\'s', () => {
    const r = findDhclients('eth1', { pidDirs: [run, nm], procRoot: proc });
    expect(r.matches.map((m) => m.pid).sort()).toEqual([101, 104]);
    expect(r.shared.map((m) => m.pid)).toEqual([105]);
    expect(findDhclients('eth10', { pidDirs: [run, nm], procRoot: proc }).matches.map((m) => m.pid)).toEqual([102]);
  });
});
