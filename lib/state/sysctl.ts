// The per-interface sysctls we manage, and the file where we keep the values
// they had before we changed them. Plain file reads and writes under
// /proc/sys: no sysctl(8) process, and interface names containing '.' need no
// escaping (sysctl(8) would read them as path separators). Synchronous: a
// hook touches a few small files, and async calls would start libuv's thread
// pool, which costs more than the reads.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import type { Family } from '../net/address.js';

export const PROC_SYS = '/proc/sys';

/** The sysctl keys (paths below /proc/sys) we manage on one interface. */
export function managedSysctlKeys(ifname: string, families: readonly Family[], looseRpFilter: boolean): string[] {
  const keys: string[] = [];
  if (families.includes(4)) {
    keys.push(`net/ipv4/conf/${ifname}/ignore_routes_with_linkdown`);
    if (looseRpFilter) keys.push(`net/ipv4/conf/${ifname}/rp_filter`);
  }
  if (families.includes(6)) keys.push(`net/ipv6/conf/${ifname}/ignore_routes_with_linkdown`);
  return keys;
}

/** The host-wide rp_filter: the kernel uses max(all, interface). */
export const RP_FILTER_ALL = 'net/ipv4/conf/all/rp_filter';

/** Every key we may have touched on an interface, and the host-wide rp_filter (for reading state). */
export const allSysctlKeys = (ifname: string): string[] => [...managedSysctlKeys(ifname, [4, 6], true), RP_FILTER_ALL];

/** Where the saved values of one interface live. */
export function savedSysctlPath(runDir: string, ifname: string): string {
  return join(runDir, 'sysctl', `${encodeURIComponent(ifname)}.json`);
}

/** Reads a sysctl; '' when it does not exist (interface gone, IPv6 disabled). */
export async function readSysctl(key: string, root = PROC_SYS): Promise<string> {
  try {
    return readFileSync(join(root, key), 'utf8').trim();
  } catch {
    return '';
  }
}

export async function writeSysctl(key: string, value: string, root = PROC_SYS): Promise<void> {
  writeFileSync(join(root, key), `${value}\n`);
}

export async function readSavedSysctls(runDir: string, ifname: string): Promise<Record<string, string>> {
  try {
    const value: unknown = JSON.parse(readFileSync(savedSysctlPath(runDir, ifname), 'utf8'));
    if (typeof value !== 'object' || value === null) return {};
    return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  } catch {
    return {};
  }
}

/** Replaces the saved values of an interface atomically; an empty record removes the file. */
export async function writeSavedSysctls(runDir: string, ifname: string, saved: Record<string, string>): Promise<void> {
  const path = savedSysctlPath(runDir, ifname);
  if (Object.keys(saved).length === 0) {
    rmSync(path, { force: true });
    return;
  }
  mkdirSync(join(runDir, 'sysctl'), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, `${JSON.stringify(saved)}\n`, 0o600);
}
