// The dnsmasq servers-file: one `server=NS@IFACE` line per name server an
// interface learned (dnsmasq(8), --server: "@interface" forces the queries
// via that interface, SO_BINDTODEVICE; "@source-ip" would only set the
// source address). dnsmasq reads it with --servers-file and re-reads it on
// SIGHUP.
//
// The file is ours alone: we render it whole from the model. Lines we did not
// write (or can no longer read) are reported by the parser and dropped on the
// next write; the header says so.
//
// Pure: text in, text out.

import { isLinkLocal, parseIp, type Family, type IpAddress } from '../net/address.js';

/** ifname → its name servers (IPv4 ones first, then IPv6, each in DHCP's order). */
export type ServersModel = Map<string, IpAddress[]>;

export const HEADER = [
  '# Written by multihomed-routing: the name servers each interface learned,',
  '# asked only through that interface (dnsmasq --servers-file, re-read on SIGHUP).',
  '# This file is rewritten on every DHCP event: edits here are lost.',
];

/**
 * Interface names that survive dnsmasq's option parser unchanged: `@`, `#`,
 * `%`, `/`, `,`, quotes, white space and the like mean something there, so
 * an interface whose name holds them gets no servers-file entry.
 */
const SAFE_IFNAME = /^[A-Za-z0-9_.+-]{1,15}$/;

export class ServersFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServersFileError';
  }
}

/** Throws unless `ifname` can be written after `@` in a dnsmasq server line. */
export function checkServersIfname(ifname: string): string {
  if (!SAFE_IFNAME.test(ifname)) {
    throw new ServersFileError(
      `expected an interface name of letters, digits and _ . + - for the dnsmasq servers-file, received ${JSON.stringify(ifname)}`,
    );
  }
  return ifname;
}

/** One line: `server=NS@IFACE`; a link-local IPv6 server also gets its `%IFACE` scope. */
export function serverLine(ifname: string, server: IpAddress): string {
  checkServersIfname(ifname);
  const scope = server.family === 6 && isLinkLocal(server) ? `%${ifname}` : '';
  return `server=${server.text}${scope}@${ifname}`;
}

/** The whole file for a model. */
export function renderServersFile(model: ServersModel): string {
  const lines = [...HEADER];
  for (const [ifname, servers] of model) for (const server of servers) lines.push(serverLine(ifname, server));
  return `${lines.join('\n')}\n`;
}

export interface ParsedServersFile {
  model: ServersModel;
  /** Lines that are neither ours nor comments (dropped on the next write). */
  foreign: string[];
}

const LINE = /^server=([^@%\s]+)(?:%([^@\s]+))?@([^@\s]+)$/;

/** Reads a servers-file back into the model. */
export function parseServersFile(text: string): ParsedServersFile {
  const model: ServersModel = new Map();
  const foreign: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    const server = m && tryParse(m[1]!);
    const ifname = m?.[3];
    if (!m || !server || !ifname || !SAFE_IFNAME.test(ifname) || (m[2] !== undefined && m[2] !== ifname)) {
      foreign.push(line);
      continue;
    }
    const list = model.get(ifname) ?? [];
    if (!list.some((s) => s.text === server.text)) list.push(server);
    model.set(ifname, list);
  }
  return { model, foreign };
}

const tryParse = (text: string): IpAddress | undefined => {
  try {
    return parseIp(text);
  } catch {
    return undefined;
  }
};

/**
 * A new model in which `ifname` has exactly `servers` for `family` and keeps
 * its servers of the other family; an interface left with none disappears.
 * Exact comparison of parsed addresses: nothing is matched by pattern.
 */
export function setInterfaceServers(
  model: ServersModel,
  ifname: string,
  family: Family,
  servers: readonly IpAddress[],
): ServersModel {
  const wrong = servers.find((s) => s.family !== family);
  if (wrong) throw new ServersFileError(`expected IPv${family} name servers for ${ifname}, received ${wrong.text}`);
  if (servers.length) checkServersIfname(ifname);
  const next: ServersModel = new Map();
  const kept = (model.get(ifname) ?? []).filter((s) => s.family !== family);
  const unique = servers.filter((s, i) => servers.findIndex((t) => t.text === s.text) === i);
  const merged = family === 4 ? [...unique, ...kept] : [...kept, ...unique];
  let placed = false;
  for (const [name, list] of model) {
    if (name === ifname) {
      placed = true;
      if (merged.length) next.set(name, merged);
    } else next.set(name, [...list]);
  }
  if (!placed && merged.length) next.set(ifname, merged);
  return next;
}
