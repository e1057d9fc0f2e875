import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reloadDnsmasq } from '../../../lib/dns/reload.js';
import { readDnsUnconfigured, unconfiguredPath } from '../../../lib/dns/unconfigured.js';
import { applyDnsChange, clearServers, removeInterfaceServers, updateInterfaceServers } from '../../../lib/dns/update.js';
import { createLogger } from '../../../lib/log/log.js';
import { parseIp } from '../../../lib/net/address.js';

let dir: string;
let lines: string[];
let signals: Array<[number, string]>;
const log = () => createLogger({ source: 'test', verbose: true, write: (l) => lines.push(l) });
const ips = (...t: string[]) => t.map((x) => parseIp(x));

/** A fake /proc with one process: its comm and the executable its exe link names. */
function fakeProc(pid: number, comm: string, exe: string): string {
  const root = join(dir, 'proc');
  mkdirSync(join(root, String(pid)), { recursive: true });
  writeFileSync(join(root, String(pid), 'comm'), `${comm}\n`);
  symlinkSync(exe, join(root, String(pid), 'exe'));
  return root;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mhr-dns-unit-'));
  lines = [];
  signals = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('reloadDnsmasq', () => {
  const kill = (pid: number, signal: string) => void signals.push([pid, signal]);

  it.each([
    ['no pid file', undefined, undefined, { kind: 'not-running' }],
    ['a pid file that is not a pid', 'ab12\n', undefined, { kind: 'refused', why: expect.stringContaining('expected a process id') }],
    ['a pid file with a negative pid', '-1\n', undefined, { kind: 'refused' }],
    ['a process that is gone', '4242\n', undefined, { kind: 'not-running', why: expect.stringContaining('pid 4242') }],
    ['a process that is not dnsmasq', '4242\n', ['sshd', '/usr/sbin/sshd'], { kind: 'refused', pid: 4242, why: expect.stringContaining('"sshd", not dnsmasq') }],
    ['a process calling itself dnsmasq', '4242\n', ['dnsmasq', '/usr/bin/python3.12'], { kind: 'refused', pid: 4242, why: expect.stringContaining('runs "python3.12"') }],
    ['dnsmasq', '4242\n', ['dnsmasq', '/usr/sbin/dnsmasq'], { kind: 'signalled', pid: 4242 }],
    ['dnsmasq after an upgrade', '4242', ['dnsmasq', '/usr/sbin/dnsmasq (deleted)'], { kind: 'signalled', pid: 4242 }],
  ] as const)('%s', (_, pidText, proc, expected) => {
    const pidFile = join(dir, 'dnsmasq.pid');
    if (pidText !== undefined) writeFileSync(pidFile, pidText);
    const procRoot = proc ? fakeProc(4242, proc[0], proc[1]) : join(dir, 'empty-proc');
    const result = reloadDnsmasq(pidFile, { procRoot, kill });
    expect(result).toEqual(expect.objectContaining(expected));
    expect(signals).toEqual(result.kind === 'signalled' ? [[4242, 'SIGHUP']] : []);
  });

  it('does not signal a real process that is not dnsmasq', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      const pidFile = join(dir, 'dnsmasq.pid');
      writeFileSync(pidFile, `${child.pid}\n`);
      expect(reloadDnsmasq(pidFile)).toEqual({ kind: 'refused', pid: child.pid, why: expect.stringContaining('"sleep", not dnsmasq') });
      expect(child.exitCode).toBeNull();
      expect(child.signalCode).toBeNull();
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('updateInterfaceServers', () => {
  const setup = () => {
    const serversFile = join(dir, 'run', 'servers.conf');
    const pidFile = join(dir, 'dnsmasq.pid');
    writeFileSync(pidFile, '4242\n');
    const procRoot = fakeProc(4242, 'dnsmasq', '/usr/sbin/dnsmasq');
    const options = { serversFile, pidFile, log: log(), reload: { procRoot, kill: (pid: number, s: string) => void signals.push([pid, s]) } };
    const body = () => readFileSync(serversFile, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    return { serversFile, options, body };
  };

  it('writes, then writes nothing and signals nothing for the same servers, then removes', async () => {
    const { serversFile, options, body } = setup();
    const first = await updateInterfaceServers({ ifname: 'eth1', family: 4, servers: ips('10.99.0.1', '192.0.2.53') }, options);
    expect(first).toMatchObject({ changed: true, reload: { kind: 'signalled', pid: 4242 } });
    expect(body()).toEqual(['server=10.99.0.1@eth1', 'server=192.0.2.53@eth1']);
    expect(statSync(serversFile).mode & 0o777).toBe(0o644);

    await updateInterfaceServers({ ifname: 'eth1', family: 6, servers: ips('fd99::1') }, options);
    await updateInterfaceServers({ ifname: 'wlan0', family: 4, servers: ips('10.98.0.1') }, options);
    expect(body()).toEqual(['server=10.99.0.1@eth1', 'server=192.0.2.53@eth1', 'server=fd99::1@eth1', 'server=10.98.0.1@wlan0']);
    expect(signals).toHaveLength(3);

    const renewed = statSync(serversFile);
    const again = await updateInterfaceServers({ ifname: 'eth1', family: 4, servers: ips('10.99.0.1', '192.0.2.53') }, options);
    expect(again).toEqual({ changed: false, text: readFileSync(serversFile, 'utf8') });
    expect(signals).toHaveLength(3);
    expect(statSync(serversFile).ino).toBe(renewed.ino);
    expect(statSync(serversFile).mtimeMs).toBe(renewed.mtimeMs);

    await updateInterfaceServers({ ifname: 'eth1', family: 4, servers: [] }, options);
    expect(body()).toEqual(['server=fd99::1@eth1', 'server=10.98.0.1@wlan0']);
    expect(signals).toEqual([[4242, 'SIGHUP'], [4242, 'SIGHUP'], [4242, 'SIGHUP'], [4242, 'SIGHUP']]);
    expect(readdirSync(join(dir, 'run')).sort()).toEqual(['servers.conf']); // no temp or lock file left
  });

  it('creates no file and signals nothing when removing from a missing file', async () => {
    const { serversFile, options } = setup();
    const result = await updateInterfaceServers({ ifname: 'eth1', family: 4, servers: [] }, options);
    expect(result.changed).toBe(false);
    expect(() => statSync(serversFile)).toThrow(/ENOENT/);
    expect(signals).toEqual([]);
  });

  it('writes and signals nothing in a dry run', async () => {
    const { serversFile, options } = setup();
    const result = await updateInterfaceServers({ ifname: 'eth1', family: 4, servers: ips('10.0.0.1') }, { ...options, dryRun: true });
    expect(result.changed).toBe(true);
    expect(result.text).toContain('server=10.0.0.1@eth1\n');
    expect(() => statSync(serversFile)).toThrow(/ENOENT/);
    expect(signals).toEqual([]);
    expect(lines.join('\n')).toMatch(/would write dnsmasq servers/);
  });

  it('drops lines it did not write, saying so', async () => {
    const { serversFile, options, body } = setup();
    mkdirSync(join(dir, 'run'));
    writeFileSync(serversFile, 'server=8.8.8.8\nserver=10.0.0.1@eth0\n');
    await updateInterfaceServers({ ifname: 'eth1', family: 4, servers: ips('10.0.0.2') }, options);
    expect(body()).toEqual(['server=10.0.0.1@eth0', 'server=10.0.0.2@eth1']);
    expect(lines.join('\n')).toMatch(/dropping a line we did not write .* line="server=8\.8\.8\.8"/);
  });

  it('loses no update when many run at once (lock file)', async () => {
    const { options, body } = setup();
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => updateInterfaceServers({ ifname: `eth${i}`, family: 4, servers: ips(`10.0.${i}.1`) }, options)),
    );
    expect(body().sort()).toEqual(Array.from({ length: 12 }, (_, i) => `server=10.0.${i}.1@eth${i}`).sort());
  });

  it('takes over the lock of a dead holder', async () => {
    const { serversFile, options, body } = setup();
    mkdirSync(join(dir, 'run'));
    writeFileSync(`${serversFile}.lock`, '999999999\n');
    await updateInterfaceServers({ ifname: 'eth1', family: 4, servers: ips('10.0.0.2') }, options);
    expect(body()).toEqual(['server=10.0.0.2@eth1']);
  });

  it('does not signal when the pid file names another program', async () => {
    const { options } = setup();
    const procRoot = fakeProc(4343, 'sshd', '/usr/sbin/sshd');
    writeFileSync(options.pidFile, '4343\n');
    const result = await updateInterfaceServers({ ifname: 'eth1', family: 4, servers: ips('10.0.0.2') }, { ...options, reload: { ...options.reload, procRoot } });
    expect(result.reload).toMatchObject({ kind: 'refused', pid: 4343 });
    expect(signals).toEqual([]);
    expect(lines.join('\n')).toMatch(/warn: not signalling/);
  });

  it('removes one interface in both families, then everything, signalling only when something went', async () => {
    const { options, body } = setup();
    await updateInterfaceServers({ ifname: 'eth1', family: 4, servers: ips('10.0.0.2') }, options);
    await updateInterfaceServers({ ifname: 'eth1', family: 6, servers: ips('fd99::1') }, options);
    await updateInterfaceServers({ ifname: 'eth10', family: 4, servers: ips('10.0.10.2') }, options);
    signals = [];

    expect(await removeInterfaceServers('eth1', options)).toMatchObject({ changed: true, reload: { kind: 'signalled' } });
    expect(body()).toEqual(['server=10.0.10.2@eth10']);
    expect(await removeInterfaceServers('eth1', options)).toMatchObject({ changed: false });
    expect(signals).toHaveLength(1);

    expect(await clearServers({ ...options, dryRun: true })).toMatchObject({ changed: true });
    expect(body()).toEqual(['server=10.0.10.2@eth10']);
    expect(await clearServers(options)).toMatchObject({ changed: true, reload: { kind: 'signalled' } });
    expect(body()).toEqual([]);
    expect(await clearServers(options)).toMatchObject({ changed: false });
    expect(signals).toHaveLength(2);
  });
});

describe('applyDnsChange: decided per job', () => {
  const setup = (mode: 'auto' | 'yes' | 'no') => {
    const serversFile = join(dir, 'run', 'servers.conf');
    const options = { mode, serversFile, pidFile: join(dir, 'none.pid'), runDir: join(dir, 'run'), log: log(), probe: { procRoot: join(dir, 'proc') } };
    const body = () => readFileSync(serversFile, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    return { options, body };
  };

  it('off: an interface\'s servers are removed rather than written, the other interfaces\' stay', async () => {
    const on = setup('yes');
    await applyDnsChange({ ifname: 'eth1', family: 4, servers: ips('10.0.0.2') }, on.options);
    await applyDnsChange({ ifname: 'eth2', family: 4, servers: ips('10.0.0.3') }, on.options);
    expect(on.body()).toEqual(['server=10.0.0.2@eth1', 'server=10.0.0.3@eth2']);
    const off = setup('auto');
    const result = await applyDnsChange({ ifname: 'eth1', family: 4, servers: ips('10.0.0.9') }, off.options);
    expect(result.decision).toEqual({ on: false, why: `dnsmasq_mode = auto and no pid file ${join(dir, 'none.pid')}` });
    expect(off.body()).toEqual(['server=10.0.0.3@eth2']);
  });

  it('off, nothing written before: the file is not created', async () => {
    const { options } = setup('no');
    expect(await applyDnsChange({ ifname: 'eth1', family: 4, servers: ips('10.0.0.2') }, options)).toMatchObject({ update: { changed: false } });
    expect(existsSync(options.serversFile)).toBe(false);
  });

  it('a name a servers-file line cannot hold: reported and recorded, not thrown; the record goes with the interface', async () => {
    const { options } = setup('yes');
    const result = await applyDnsChange({ ifname: 'x;y', family: 4, servers: ips('10.0.0.2') }, options);
    expect(result.notConfigured).toMatch(/^the name "x;y" cannot be written into dnsmasq's servers-file/);
    expect(readDnsUnconfigured(options.runDir)).toEqual(new Map([['x;y', result.notConfigured]]));
    await applyDnsChange({ ifname: 'x;y', removeAll: true }, options);
    expect(readDnsUnconfigured(options.runDir).size).toBe(0);
  });

  it('a dry run records nothing', async () => {
    const { options } = setup('yes');
    await applyDnsChange({ ifname: 'x#y', family: 4, servers: ips('10.0.0.2') }, { ...options, dryRun: true });
    expect(existsSync(unconfiguredPath(options.runDir))).toBe(false);
  });
});
