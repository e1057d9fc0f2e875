// Every hook and the daemon log one line per decision to syslog (facility
// daemon, tag multihomed-routing) through logger(1). A fake `logger` first on
// PATH (a tiny script recording its arguments and stdin) stands in for the
// real one; the executable runs a real hook in a namespaced host.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, waitFor, type SpawnedProcess, type TestBed } from '../helpers/testbed.js';
import { EXE } from './routing-host.js';

const CONF = '/run/mhr-logging.conf';
const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

describe('syslog lines from hooks and the daemon', () => {
  let bed: TestBed;
  let daemon: SpawnedProcess;
  let fake: { dir: string; args: string; stdin: string };
  const env = () => ({ PATH: `${fake.dir}:${BASE_PATH}` });
  const hook = (vars: Record<string, string>, flags: string[] = []) =>
    bed.host.exec([EXE, '--config', CONF, ...flags, 'ifupdown'], { reject: false, env: { ...env(), ...vars } });
  const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
  // Truncate, not remove: the daemon's logger keeps the file open (O_APPEND).
  const reset = () => {
    for (const f of [fake.args, fake.stdin]) if (fs.existsSync(f)) fs.truncateSync(f);
  };
  const up = { IFACE: 'eth0', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: '192.0.2.10/24', IF_GATEWAY: '192.0.2.1' };

  beforeAll(async () => {
    bed = await createTestBed({ name: 'logging', routers: [] });
    const dir = path.join(bed.dir, 'fakebin');
    fake = { dir, args: path.join(bed.dir, 'logger.args'), stdin: path.join(bed.dir, 'logger.stdin') };
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'logger'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${fake.args}\ncat >> ${fake.stdin}\n`, { mode: 0o755 });
    await bed.host.exec(['sh', '-ec', `cat > ${CONF}`], { input: 'syslog = yes\nstore_path = /run/multihomed-routing/leases.json\nadopt_addresses = no\n' });
    // No dummy module on every kernel: a veth pair inside the host stands in for an uplink.
    await bed.host.exec(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer']);
    for (const dev of ['eth0', 'eth0peer']) await bed.host.exec(['ip', 'link', 'set', dev, 'up']);
    // Present before the daemon starts: adoption (off here) would take it over before the hook logs it.
    await bed.host.exec(['ip', 'addr', 'add', '192.0.2.10/24', 'dev', 'eth0']);
    daemon = bed.host.spawn([EXE, '--config', CONF, 'daemon'], { env: env(), logName: 'daemon' });
    const sock = bed.host.path('/run/multihomed-routing/allocator/allocator.sock');
    for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(sock)).toBe(true);
  });
  afterAll(() => bed?.destroy());

  test('an ifup logs each decision with interface, address, table and reason, at daemon.info (<30>)', async () => {
    reset();
    const r = await hook(up);
    expect(r.exitCode).toBe(0);
    // The daemon applied the event and logs its lines through its own logger(1), asynchronously:
    // they may land a moment after the hook returned (the summary line comes last).
    await waitFor('the hook\'s summary line', () => lines(fake.stdin).some((l) => l.includes('ifupdown: routing updated')), 3000, 20);
    const ours = lines(fake.stdin).filter((l) => l.includes('ifupdown:'));
    expect(ours.length).toBeGreaterThanOrEqual(5); // rules, routes, sysctls, the summary
    for (const l of ours) expect(l).toMatch(/^<30>ifupdown: \S/);
    const table = /table=(\d+)/.exec(ours.at(-1)!)?.[1];
    expect(ours.at(-1)).toMatch(new RegExp(`^<30>ifupdown: routing updated iface=eth0 address=192\\.0\\.2\\.10/24 table=${table} changes=\\d+$`));
    expect(ours).toContain(
      `<30>ifupdown: replies and sockets bound to the address leave through its interface iface=eth0 address=192.0.2.10/24 table=${table} do="ip -4 rule add pref 10000 from 192.0.2.10/32 lookup ${table} protocol 201"`,
    );
    // The tag, the pid and the priority prefixes, as logger(1) needs them.
    expect(lines(fake.args)).toContainEqual(expect.stringMatching(/^--id=\d+ -t multihomed-routing --prio-prefix$/));
    // The daemon's decision about the same address: its lease.
    const granted = new RegExp(`^<30>daemon: lease granted .*ifname=eth0 address=192\\.0\\.2\\.10 .*table=${table}`);
    // The daemon's logger writes asynchronously.
    await waitFor('the daemon\'s lease line', () => lines(fake.stdin).some((l) => granted.test(l)), 3000, 20);
    // And stderr carries the same lines for ifup to show.
    expect(r.stderr).toContain('multihomed-routing ifupdown: routing updated iface=eth0');
  });

  test('refused input is an error (<27>) naming the interface, also before the config is read', async () => {
    reset();
    await hook({ ...up, IF_ADDRESS: '192.0.2.10/33' });
    expect(lines(fake.stdin)).toEqual([expect.stringMatching(/^<27>ifupdown: refused: .*"33".*; nothing changed iface=eth0$/)]);
  });

  test('--verbose adds debug lines (<31>); without it there are none', async () => {
    reset();
    await hook({ ...up, METHOD: 'dhcp' });
    expect(lines(fake.stdin)).toEqual([]);
    await hook({ ...up, METHOD: 'dhcp' }, ['--verbose']);
    expect(lines(fake.stdin)).toEqual([expect.stringMatching(/^<31>ifupdown: .*iface=eth0$/)]);
  });

  test('stderr is the journal (JOURNAL_STREAM names it, as systemd sets it): each line once, no logger', async () => {
    const stderrFile = path.join(bed.dir, 'journal-stand-in');
    fs.writeFileSync(stderrFile, '');
    const st = fs.statSync(stderrFile);
    const refused = (journalStream: string) =>
      bed.host.exec(['sh', '-c', `exec "$0" --config ${CONF} ifupdown 2>>${stderrFile}`, EXE], {
        reject: false, env: { ...env(), ...up, IF_ADDRESS: '192.0.2.10/33', JOURNAL_STREAM: journalStream },
      });
    reset();
    await refused(`${st.dev}:${st.ino}`);
    // Its level as the prefix journald reads (<3> err), in place of logger(1)'s.
    expect(fs.readFileSync(stderrFile, 'utf8')).toMatch(/^<3>multihomed-routing ifupdown: error: refused: /m);
    expect(lines(fake.args)).toEqual([]);
    // Inherited from a parent whose stream this is not (stderr redirected): syslog as usual.
    await refused(`${st.dev}:${st.ino + 1}`);
    expect(lines(fake.stdin)).toEqual([expect.stringMatching(/^<27>ifupdown: refused: /)]);
  });

  test('syslog = no: logger is never started', async () => {
    await bed.host.exec(['sh', '-ec', `echo 'syslog = no' >> ${CONF}`]);
    reset();
    const r = await hook({ ...up, IF_ADDRESS: '192.0.2.10/33' });
    expect(r.stderr).toContain('refused');
    expect(lines(fake.args)).toEqual([]);
    daemon.kill();
  });
});
