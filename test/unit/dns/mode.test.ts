import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfFs } from '../../../lib/dns/dnsmasq-conf.js';
import { decideDns, dnsDecision, probeDnsmasq, type DnsMode, type PidFileDnsmasq } from '../../../lib/dns/mode.js';

const FILE = '/run/multihomed-routing/dnsmasq-servers.conf';
const PID = '/run/dnsmasq/dnsmasq.pid';
const cfg = (mode: DnsMode) => ({ dnsmasqMode: mode, dnsmasqServersFile: FILE, dnsmasqPidFile: PID });

describe('decideDns', () => {
  it.each<[string, DnsMode, PidFileDnsmasq | undefined, boolean, string]>([
    ['yes: on, nothing looked at', 'yes', undefined, true, 'dnsmasq_mode = yes'],
    ['no: off, nothing looked at', 'no', undefined, false, 'dnsmasq_mode = no'],
    ['auto, no dnsmasq', 'auto', { none: `no pid file ${PID}` }, false, `dnsmasq_mode = auto and no pid file ${PID}`],
    ['auto, a dnsmasq reading other files', 'auto', { pid: 7, serversFiles: ['/etc/x'] }, false, `dnsmasq_mode = auto and dnsmasq pid 7 (${PID}) does not read ${FILE}`],
    ['auto, a dnsmasq reading no servers-file', 'auto', { pid: 7, serversFiles: [] }, false, `dnsmasq_mode = auto and dnsmasq pid 7 (${PID}) does not read ${FILE}`],
    ['auto, the dnsmasq reads ours', 'auto', { pid: 7, serversFiles: ['/etc/x', FILE] }, true, `dnsmasq pid 7 (${PID}) reads ${FILE}`],
  ])('%s', (_, mode, found, on, why) => {
    const probe = () => {
      if (!found) throw new Error('looked at dnsmasq');
      return found;
    };
    expect(decideDns(cfg(mode), probe)).toEqual({ on, why });
  });
});

describe('probeDnsmasq and dnsDecision (a fake /proc)', () => {
  let dir: string;
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'mhr-dns-mode-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** One process in a fake /proc, its pid file written. */
  const proc = (comm: string, exe: string, argv: string[]) => {
    const root = join(dir, 'proc');
    mkdirSync(join(root, '4242'), { recursive: true });
    writeFileSync(join(root, '4242', 'comm'), `${comm}\n`);
    writeFileSync(join(root, '4242', 'cmdline'), `${argv.join('\0')}\0`);
    symlinkSync(exe, join(root, '4242', 'exe'));
    writeFileSync(join(dir, 'pid'), '4242\n');
    return root;
  };
  const files = (map: Record<string, string>): ConfFs => ({ read: (p) => map[p], list: () => undefined });
  const pidFile = () => join(dir, 'pid');

  it('servers-file on the command line', () => {
    const procRoot = proc('dnsmasq', '/usr/sbin/dnsmasq', ['dnsmasq', '--conf-file=/dev/null', `--servers-file=${FILE}`]);
    expect(probeDnsmasq(pidFile(), { procRoot, fs: files({}) })).toEqual({ pid: 4242, serversFiles: [FILE] });
  });

  it('servers-file in the default conf file', () => {
    const procRoot = proc('dnsmasq', '/usr/sbin/dnsmasq', ['/usr/sbin/dnsmasq', '-x', '/run/dnsmasq/dnsmasq.pid']);
    const fs = files({ '/etc/dnsmasq.conf': `servers-file=${FILE}\n` });
    expect(dnsDecision({ ...cfg('auto'), dnsmasqPidFile: pidFile() }, { procRoot, fs })).toEqual({ on: true, why: `dnsmasq pid 4242 (${pidFile()}) reads ${FILE}` });
  });

  it.each([
    ['no pid file', () => join(dir, 'proc'), /no pid file/],
    ['a pid file naming another program', () => proc('sshd', '/usr/sbin/sshd', ['sshd']), /"sshd", not dnsmasq/],
    ['a pid file that cannot be read (a directory)', () => (mkdirSync(join(dir, 'pid')), join(dir, 'proc')), /cannot be checked/],
  ])('%s: off, and why', (_, setUp, why) => {
    const procRoot = setUp();
    const decision = dnsDecision({ ...cfg('auto'), dnsmasqPidFile: pidFile() }, { procRoot, fs: files({}) });
    expect(decision.on).toBe(false);
    expect(decision.why).toMatch(why);
  });
});
