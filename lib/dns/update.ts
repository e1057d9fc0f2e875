// One interface's name servers into the servers-file, and dnsmasq told:
// read the file, replace exactly that interface's entries of one family,
// write it atomically only when the text changed, and only then SIGHUP the
// dnsmasq of the pid file. A renew with the same servers writes nothing and
// signals nothing.

import type { Family, IpAddress } from '../net/address.js';
import type { Logger } from '../log/log.js';
import { readFileIfExists, writeFileAtomic } from '../fs/atomic.js';
import { withLockFile } from '../fs/lock.js';
import { reloadDnsmasq, type ReloadDeps, type ReloadResult } from './reload.js';
import { parseServersFile, renderServersFile, setInterfaceServers } from './servers-file.js';

export interface DnsUpdateRequest {
  ifname: string;
  family: Family;
  /** Empty: remove the interface's servers of this family. */
  servers: readonly IpAddress[];
}

export interface DnsUpdateOptions {
  serversFile: string;
  pidFile: string;
  log: Logger;
  /** Compute and log, write and signal nothing. */
  dryRun?: boolean;
  reload?: ReloadDeps;
}

export interface DnsUpdateResult {
  changed: boolean;
  /** The file's new text (also in a dry run). */
  text: string;
  reload?: ReloadResult;
}

/** Applies one interface's servers to the servers-file and reloads dnsmasq if it changed. */
export async function updateInterfaceServers(request: DnsUpdateRequest, options: DnsUpdateOptions): Promise<DnsUpdateResult> {
  const { ifname, family, servers } = request;
  const { log } = options;
  const result = await withLockFile(options.serversFile, () => {
    const before = readFileIfExists(options.serversFile);
    const parsed = parseServersFile(before ?? '');
    for (const line of parsed.foreign) {
      log.warn('dropping a line we did not write from the dnsmasq servers-file', { file: options.serversFile, line });
    }
    const text = renderServersFile(setInterfaceServers(parsed.model, ifname, family, servers));
    // A missing file that would stay empty is left missing.
    const changed = before === undefined ? servers.length > 0 : text !== before;
    if (changed && !options.dryRun) writeFileAtomic(options.serversFile, text);
    return { changed, text };
  });
  const fields = { ifname, family: `ipv${family}`, servers: servers.map((s) => s.text).join(' ') || '(none)', file: options.serversFile };
  if (!result.changed) {
    log.debug('dnsmasq servers unchanged', fields);
    return result;
  }
  if (options.dryRun) {
    log.info('would write dnsmasq servers and SIGHUP dnsmasq', fields);
    return result;
  }
  log.info('dnsmasq servers written', fields);
  const reload = reloadDnsmasq(options.pidFile, options.reload);
  if (reload.kind === 'signalled') log.info('dnsmasq told to re-read its servers', { pid: reload.pid });
  else if (reload.kind === 'not-running') log.debug('no dnsmasq to reload', { why: reload.why });
  else log.warn('not signalling: the pid file does not name dnsmasq', { why: reload.why });
  return { ...result, reload };
}

/** Removes every name server of `ifname` (both families) in one write, then reloads dnsmasq if anything changed. */
export async function removeInterfaceServers(ifname: string, options: DnsUpdateOptions): Promise<DnsUpdateResult> {
  const { log } = options;
  const result = await withLockFile(options.serversFile, () => {
    const before = readFileIfExists(options.serversFile);
    if (before === undefined) return { changed: false, text: '' };
    const parsed = parseServersFile(before);
    if (!parsed.model.has(ifname)) return { changed: false, text: before };
    const text = renderServersFile(setInterfaceServers(setInterfaceServers(parsed.model, ifname, 4, []), ifname, 6, []));
    if (!options.dryRun) writeFileAtomic(options.serversFile, text);
    return { changed: true, text };
  });
  const fields = { ifname, file: options.serversFile };
  if (!result.changed) {
    log.debug('no dnsmasq servers of the interface', fields);
    return result;
  }
  if (options.dryRun) {
    log.info('would remove the dnsmasq servers of the interface and SIGHUP dnsmasq', fields);
    return result;
  }
  log.info('dnsmasq servers of the interface removed', fields);
  const reload = reloadDnsmasq(options.pidFile, options.reload);
  if (reload.kind === 'signalled') log.info('dnsmasq told to re-read its servers', { pid: reload.pid });
  else if (reload.kind === 'not-running') log.debug('no dnsmasq to reload', { why: reload.why });
  else log.warn('not signalling: the pid file does not name dnsmasq', { why: reload.why });
  return { ...result, reload };
}
