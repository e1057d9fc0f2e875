// The DNS default (dnsmasq_mode = auto) end to end, with real dhclient,
// dhclient-script and dnsmasq in the test bed:
//   - stock first: dhclient-script alone writes the host's resolv.conf
//     (/etc/netns/NAME/resolv.conf) from the lease;
//   - installed, no dnsmasq: the hook routes the lease and dhclient-script
//     writes the very same resolv.conf; nothing goes to the servers-file;
//     status and doctor say per-uplink DNS is off and how to turn it on;
//   - a dnsmasq reading our servers-file (its pid in dnsmasq_pid_file):
//     per-uplink DNS as before, resolv.conf left alone, the name asked
//     through the uplink that learned the server;
//   - an uplink renamed to names a servers-file line cannot hold (`;`, `#`,
//     quotes): routed, and its DNS not configured, loudly (hook output,
//     status).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUpHookedHost } from '../helpers/hooked-host.js';
import { createTestBed, waitFor, type Dhclient, type SpawnedProcess, type TestBed } from '../helpers/testbed.js';

const SERVERS = '/run/multihomed-routing/dnsmasq-servers.conf';
const PID_FILE = '/run/dnsmasq/dnsmasq.pid';

let bed: TestBed;
let exe: string;
let hostDnsmasq: SpawnedProcess | undefined;

/** Runs a shell command in the host's mount namespace (writes through the /etc overlay, not behind its back). */
const sh = (script: string, ...args: string[]) => bed.host.exec(['sh', '-ec', script, 'sh', ...args], { reject: false });
const resolvConf = async () => (await sh('cat /etc/resolv.conf')).stdout;
const setResolvConf = (text: string) => sh('printf "%s" "$1" > /etc/resolv.conf', text);
const serverLines = async () => (await sh(`cat ${SERVERS} 2>/dev/null || true`)).stdout.split('\n').filter((l) => l.startsWith('server='));
const run = (...args: string[]) => bed.host.exec([exe, ...args], { reject: false });
/** `from A lookup T` rules of ours for the address on `ifname`. */
const fromRules = async (ifname: string) => {
  const [addr] = await bed.host.addresses(ifname, 4);
  return (await bed.host.rules(4)).filter((r) => r.protocol === '201' && r.src === addr?.local);
};

beforeAll(async () => {
  bed = await createTestBed({
    name: 'dnsdefault',
    routers: [
      { hostIfname: 'eth0', ipv4: { subnet: '192.168.41.0/24', address: '192.168.41.1' }, dhcp: { range: ['192.168.41.100', '192.168.41.150'], leaseTime: '10m' }, dns: { records: { 'which.test': ['192.0.2.41'] } } },
      { hostIfname: 'eth1', ipv4: { subnet: '192.168.42.0/24', address: '192.168.42.1' }, dhcp: { range: ['192.168.42.100', '192.168.42.150'], leaseTime: '10m' }, dns: { records: { 'which.test': ['192.0.2.42'] } } },
      { hostIfname: 'eth2', ipv4: { subnet: '192.168.43.0/24', address: '192.168.43.1' }, dhcp: { range: ['192.168.43.100', '192.168.43.150'], leaseTime: '10m' } },
    ],
    // The hook's file exists from the start, empty (dhclient-script sources nothing of ours): the
    // install later rewrites it in place, which the host's /etc overlay sees (a file created in its
    // upper layer after the host listed the directory it would not).
    hostEtc: { 'dhcp/dhclient-enter-hooks.d/multihomed-routing': '# not installed yet\n' },
  });
}, 120_000);

afterAll(() => {
  hostDnsmasq?.kill('SIGKILL');
  bed?.destroy();
});

describe('dnsmasq_mode = auto (the default)', () => {
  let stock = '';

  it('stock: without the hook, dhclient-script writes resolv.conf from the lease', async () => {
    await setResolvConf('nameserver 127.0.0.9\n');
    const eth0 = await bed.host.dhclient('eth0');
    stock = await resolvConf();
    expect(stock).toMatch(/^nameserver 192\.168\.41\.1$/m);
    expect(stock).not.toContain('127.0.0.9');
    await eth0.release();
  });

  it('installed, no dnsmasq: the lease is routed and resolv.conf is exactly what stock dhclient-script wrote', async () => {
    ({ exe } = await setUpHookedHost(bed));
    await setResolvConf('nameserver 127.0.0.9\n');
    const eth0 = await bed.host.dhclient('eth0');
    expect(await fromRules('eth0')).toHaveLength(1);
    expect(await resolvConf()).toBe(stock);
    expect(await serverLines()).toEqual([]);
    const status = await run('status');
    expect(status.stdout).toContain(`dns: per-uplink DNS off (dnsmasq_mode = auto and no pid file ${PID_FILE}); dhclient-script writes resolv.conf\n`);
    expect(status.stdout).toContain(`  to turn it on: start dnsmasq with --servers-file=${SERVERS} and --pid-file=${PID_FILE}`);
    expect(status.stdout).toContain('  to turn it on: or set dnsmasq_mode = yes');
    const doctor = JSON.parse((await run('doctor', '--json')).stdout) as { findings: { id: string; severity: string; fix: string[] }[] };
    expect(doctor.findings.filter((f) => f.id.startsWith('dns'))).toEqual([
      expect.objectContaining({ id: 'dns-per-uplink-off', severity: 'info', fix: [expect.stringContaining(`--servers-file=${SERVERS}`), expect.stringContaining('dnsmasq_mode = yes')] }),
    ]);
    await eth0.release();
  });

  describe('with a dnsmasq reading our servers-file', () => {
    beforeAll(async () => {
      await sh('mkdir -p /run/dnsmasq');
      hostDnsmasq = bed.host.spawn([
        'dnsmasq', '-k', '--conf-file=/dev/null', `--servers-file=${SERVERS}`, `--pid-file=${PID_FILE}`, '--user=root',
        '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--cache-size=0', '--log-queries',
      ], { logName: 'host-dnsmasq' });
      await waitFor('the host dnsmasq pid file', async () => (await sh(`cat ${PID_FILE}`)).stdout.trim() === String(hostDnsmasq!.pid));
      await setResolvConf('nameserver 127.0.0.1\n');
    });

    it('per-uplink DNS: the servers go to the servers-file, resolv.conf is left alone, the name is asked through the uplink', async () => {
      const eth1 = await bed.host.dhclient('eth1');
      expect(await fromRules('eth1')).toHaveLength(1);
      expect(await serverLines()).toEqual(['server=192.168.42.1@eth1']);
      expect(await resolvConf()).toBe('nameserver 127.0.0.1\n');
      expect(await bed.host.dnsQuery('127.0.0.1', 'which.test')).toEqual(['192.0.2.42']);
      expect((await run('status')).stdout).toContain(`dns: per-uplink through dnsmasq (dnsmasq pid ${hostDnsmasq!.pid} (${PID_FILE}) reads ${SERVERS})\n`);
      await eth1.release();
      expect(await serverLines()).toEqual([]);
    });

    describe.each(['a;b', 'c#d', 'e"f', "g'h"])('an uplink renamed to %s', (name) => {
      let client: Dhclient | undefined;
      beforeAll(async () => {
        const current = (await bed.host.links()).find((l) => l.ifname === 'eth2' || /^[a-g][;#"'][b-h]$/.test(l.ifname))!.ifname;
        await bed.host.exec(['ip', 'link', 'set', current, 'down']);
        await bed.host.exec(['ip', 'link', 'set', current, 'name', name]);
        await bed.host.exec(['ip', 'link', 'set', name, 'up']);
      });
      afterAll(async () => void (await client?.release()));

      it('is routed; its DNS is not configured, and the hook and status say so', async () => {
        client = await bed.host.dhclient(name);
        const said = client.started.stderr + client.started.stdout;
        expect(said).toContain(`DNS not configured: the name ${JSON.stringify(name)} cannot be written into dnsmasq's servers-file`);
        expect(await fromRules(name)).toHaveLength(1);
        expect(await serverLines()).toEqual([]);
        expect(await resolvConf()).toBe('nameserver 127.0.0.1\n');
        const [addr] = await bed.host.addresses(name, 4);
        const status = (await run('status')).stdout;
        const block = status.split('\n\n').find((b) => b.startsWith(`${name} inet ${addr!.local}/24 table `));
        expect(block, status).toContain(`  ! DNS not configured: the name ${JSON.stringify(name)} cannot be written into dnsmasq's servers-file`);
      });
    });
  });
});
