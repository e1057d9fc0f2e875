// Changes to the servers-file, and dnsmasq told: read the file, replace
// exactly one interface's entries (or all of them), write it atomically only
// when the text changed, and only then SIGHUP the dnsmasq of the pid file. A
// renew with the same servers writes nothing and signals nothing.

import type { Family, IpAddress } from '../net/address.js';
import type { Logger } from '../log/log.js';
import { readFileIfExists, writeFileAtomic } from '../fs/atomic.js';
import { withLockFile } from '../fs/lock.js';
import type { ConfFs } from './dnsmasq-conf.js';
import { dnsDecision, type DnsDecision, type DnsMode } from './mode.js';
import { reloadDnsmasq, type ReloadDeps, type ReloadResult } from './reload.js';
import { checkServersIfname, parseServersFile, renderServersFile, ServersFileError, setInterfaceServers, type ServersModel } from './servers-file.js';
import { noteDnsUnconfigured } from './unconfigured.js';

export interface DnsUpdateRequest {
  ifname: string;
  family: Family;
  /** Empty: remove the interface's servers of this family. */
  servers: readonly IpAddress[];
}

/** What a job does to the servers-file: one family's servers of an interface, or all of them removed (the interface is gone). */
export type DnsChange = DnsUpdateRequest | { ifname: string; removeAll: true };

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

interface EditLog {
  fields: Record<string, string>;
  /** Log messages: the file was written; a dry run would write it; nothing to do. */
  written: string;
  wouldWrite: string;
  unchanged: string;
}

/**
 * The one read-modify-write of the servers-file: under its lock, parse it,
 * let `edit` return the new model (undefined: nothing to do), write it
 * atomically only when the text changes, and only then SIGHUP dnsmasq.
 */
async function editServersFile(
  options: DnsUpdateOptions,
  edit: (model: ServersModel) => ServersModel | undefined,
  what: EditLog,
): Promise<DnsUpdateResult> {
  const { log } = options;
  const result = await withLockFile(options.serversFile, () => {
    const before = readFileIfExists(options.serversFile);
    const parsed = parseServersFile(before ?? '');
    const model = edit(parsed.model);
    if (!model) return { changed: false, text: before ?? '' };
    const text = renderServersFile(model);
    // A missing file that would stay empty is left missing.
    const changed = before === undefined ? model.size > 0 : text !== before;
    if (changed) {
      for (const line of parsed.foreign) {
        log.warn('dropping a line we did not write from the dnsmasq servers-file', { file: options.serversFile, line });
      }
      if (!options.dryRun) writeFileAtomic(options.serversFile, text);
    }
    return { changed, text };
  });
  const fields = { ...what.fields, file: options.serversFile };
  if (!result.changed) {
    log.debug(what.unchanged, fields);
    return result;
  }
  if (options.dryRun) {
    log.info(what.wouldWrite, fields);
    return result;
  }
  log.info(what.written, fields);
  const reload = reloadDnsmasq(options.pidFile, options.reload);
  if (reload.kind === 'signalled') log.info('dnsmasq told to re-read its servers', { pid: reload.pid });
  else if (reload.kind === 'not-running') log.debug('no dnsmasq to reload', { why: reload.why });
  else log.warn('not signalling: the pid file does not name dnsmasq', { why: reload.why });
  return { ...result, reload };
}

/** Applies one interface's servers to the servers-file and reloads dnsmasq if it changed. */
export function updateInterfaceServers(request: DnsUpdateRequest, options: DnsUpdateOptions): Promise<DnsUpdateResult> {
  const { ifname, family, servers } = request;
  return editServersFile(options, (model) => setInterfaceServers(model, ifname, family, servers), {
    fields: { ifname, family: `ipv${family}`, servers: servers.map((s) => s.text).join(' ') || '(none)' },
    written: 'dnsmasq servers written',
    wouldWrite: 'would write dnsmasq servers and SIGHUP dnsmasq',
    unchanged: 'dnsmasq servers unchanged',
  });
}

/** Removes every name server of `ifname` (both families) in one write, then reloads dnsmasq if anything changed. */
export function removeInterfaceServers(ifname: string, options: DnsUpdateOptions): Promise<DnsUpdateResult> {
  return editServersFile(
    options,
    (model) => (model.has(ifname) ? setInterfaceServers(setInterfaceServers(model, ifname, 4, []), ifname, 6, []) : undefined),
    {
      fields: { ifname },
      written: 'dnsmasq servers of the interface removed',
      wouldWrite: 'would remove the dnsmasq servers of the interface and SIGHUP dnsmasq',
      unchanged: 'no dnsmasq servers of the interface',
    },
  );
}

/** Empties the servers-file (uninstall), then reloads dnsmasq if it held any server. */
export function clearServers(options: DnsUpdateOptions): Promise<DnsUpdateResult> {
  return editServersFile(options, (model) => (model.size > 0 ? new Map() : undefined), {
    fields: {},
    written: 'dnsmasq servers removed',
    wouldWrite: 'would empty the dnsmasq servers-file and SIGHUP dnsmasq',
    unchanged: 'no dnsmasq servers to remove',
  });
}

export interface DnsJobOptions extends DnsUpdateOptions {
  /** dnsmasq_mode: decided here, once per job (lib/dns/mode.ts). */
  mode: DnsMode;
  /** Where uplinks whose DNS could not be configured are recorded (lib/dns/unconfigured.ts). */
  runDir: string;
  /** Tests: where /proc and dnsmasq's conf files are. */
  probe?: { procRoot?: string; fs?: ConfFs };
}

export interface DnsJobResult {
  decision: DnsDecision;
  /** Why this uplink's servers could not be written (recorded for status); routing is unaffected. */
  notConfigured?: string;
  update?: DnsUpdateResult;
}

/**
 * Applies a job's DNS change (lib/dispatch/handler.ts). With per-uplink DNS
 * off, an interface's servers are removed rather than written: nothing new
 * reaches a file no dnsmasq reads, and nothing stale is left for one that
 * starts reading it later. An interface name a servers-file line cannot hold
 * is recorded for status and reported, not thrown.
 */
export async function applyDnsChange(change: DnsChange, options: DnsJobOptions): Promise<DnsJobResult> {
  const decision = dnsDecision({ dnsmasqMode: options.mode, dnsmasqServersFile: options.serversFile, dnsmasqPidFile: options.pidFile }, options.probe);
  const { ifname } = change;
  const note = (why: string | undefined) => (options.dryRun ? undefined : noteDnsUnconfigured(options.runDir, ifname, why));
  if ('removeAll' in change) {
    const update = await removeInterfaceServers(ifname, options);
    await note(undefined);
    return { decision, update };
  }
  const request = decision.on ? change : { ...change, servers: [] };
  if (!decision.on && change.servers.length) options.log.debug('per-uplink DNS off: servers not written', { ifname, why: decision.why });
  try {
    if (request.servers.length) checkServersIfname(ifname);
  } catch (err) {
    if (!(err instanceof ServersFileError)) throw err;
    const why = `the name ${JSON.stringify(ifname)} cannot be written into dnsmasq's servers-file; rename the interface to letters, digits and _ . + -`;
    await note(why);
    return { decision, notConfigured: why };
  }
  const update = await updateInterfaceServers(request, options);
  await note(undefined);
  return { decision, update };
}
