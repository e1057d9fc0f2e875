// Is per-uplink DNS through dnsmasq on? `dnsmasq_mode = yes | no` says so;
// `auto` (the default) says yes only when the dnsmasq of dnsmasq_pid_file
// reads our servers-file (--servers-file on its command line or in a conf
// file it reads). Off, resolv.conf is left to dhclient-script as without this
// tool: a host without dnsmasq keeps the DNS servers DHCP gave it.
//
// Decided once per job, by the servers-file writer (lib/dns/update.ts) and by
// the dhclient hook (whether dhclient-script writes resolv.conf); status and
// doctor show the same decision. The probe is a few small /proc reads.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { dnsmasqReads, type ConfFs } from './dnsmasq-conf.js';
import { findDnsmasq } from './reload.js';

export type DnsMode = 'auto' | 'yes' | 'no';

export interface DnsDecision {
  on: boolean;
  /** Why, in words for a log line, status and doctor. */
  why: string;
}

/** The dnsmasq of the pid file and the servers-files it reads, or why there is none. */
export type PidFileDnsmasq = { pid: number; serversFiles: readonly string[] } | { none: string };

type DnsConfig = Pick<Config, 'dnsmasqMode' | 'dnsmasqServersFile' | 'dnsmasqPidFile'>;

/** Pure: the decision from the mode and (auto only) what the dnsmasq of the pid file reads. */
export function decideDns(config: DnsConfig, dnsmasq: () => PidFileDnsmasq): DnsDecision {
  if (config.dnsmasqMode === 'yes') return { on: true, why: 'dnsmasq_mode = yes' };
  if (config.dnsmasqMode === 'no') return { on: false, why: 'dnsmasq_mode = no' };
  const found = dnsmasq();
  if ('none' in found) return { on: false, why: `dnsmasq_mode = auto and ${found.none}` };
  const { dnsmasqServersFile: file, dnsmasqPidFile: pidFile } = config;
  if (!found.serversFiles.includes(file)) {
    return { on: false, why: `dnsmasq_mode = auto and dnsmasq pid ${found.pid} (${pidFile}) does not read ${file}` };
  }
  return { on: true, why: `dnsmasq pid ${found.pid} (${pidFile}) reads ${file}` };
}

/** How an operator turns per-uplink DNS on, for status, doctor and logs. */
export function howToTurnOn(config: DnsConfig & { configPath?: string }): string[] {
  return [
    `start dnsmasq with --servers-file=${config.dnsmasqServersFile} and --pid-file=${config.dnsmasqPidFile} as the host's resolver ` +
      `(install.sh's /etc/dnsmasq.d/multihomed-routing.conf does it for Debian's dnsmasq: restart dnsmasq, then renew the leases; docs/dns.md)`,
    `or set dnsmasq_mode = yes in ${config.configPath ?? 'the config'}`,
  ];
}

const attempt = <T>(f: () => T): T | undefined => {
  try {
    return f();
  } catch {
    return undefined;
  }
};

/** The host's files, as dnsmasq would read them. */
export const realConfFs: ConfFs = {
  read: (p) => attempt(() => readFileSync(p, 'utf8')),
  list: (dir) => attempt(() => readdirSync(dir)),
};

/** A process's argv from /proc/PID/cmdline. */
export const parseCmdline = (text: string): string[] => text.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);

/** Reads /proc: the dnsmasq of the pid file and which servers-files it reads. */
export function probeDnsmasq(pidFile: string, deps: { procRoot?: string; fs?: ConfFs } = {}): PidFileDnsmasq {
  const procRoot = deps.procRoot ?? '/proc';
  let found;
  try {
    found = findDnsmasq(pidFile, procRoot);
  } catch (err) {
    return { none: `the dnsmasq of ${pidFile} cannot be checked: ${(err as Error).message}` };
  }
  if (found.kind !== 'found') return { none: found.why };
  const cmdline = attempt(() => readFileSync(join(procRoot, String(found.pid), 'cmdline'), 'utf8'));
  if (cmdline === undefined) return { none: `pid ${found.pid} from ${pidFile} is not running` };
  return { pid: found.pid, serversFiles: dnsmasqReads(parseCmdline(cmdline), deps.fs ?? realConfFs).serversFiles };
}

/** The decision on this host now. */
export const dnsDecision = (config: DnsConfig, deps: { procRoot?: string; fs?: ConfFs } = {}): DnsDecision =>
  decideDns(config, () => probeDnsmasq(config.dnsmasqPidFile, deps));
