// The allocator's wire protocol: one JSON object per line over a Unix stream
// socket (lib/ipc/message.ts), one response line per request line; a
// connection may carry several. The field names (version, cmd, address,
// ifname, addr_family, tag, table, lease_expires) are the protocol's and do
// not change: other programs use them. Everything a peer sends is parsed
// here, by pure functions, before the daemon acts on it.

import { parseIp, type Family } from '../net/address.js';
import { ifnameProblem } from '../net/ifname.js';
import { fail, isObject, parseReplyMessage, type Parsed } from '../ipc/message.js';

/** Longest request line the daemon accepts (bytes, newline excluded). */
export const MAX_REQUEST_BYTES = 4096;
/** Longest response line a client accepts (a `list` of many leases). */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Longest tag; tags are printable ASCII, shown by `lease list`. */
export const MAX_TAG_LENGTH = 64;

/** A lease as it travels and as it is stored (canonical address text). */
export interface WireLease {
  ifname: string;
  address: string;
  addr_family: Family;
  table: number;
  /** Unix time, seconds. */
  lease_expires: number;
  tag?: string;
}

export type Request =
  | { version: 1; cmd: 'request'; ifname: string; address: string; addr_family: Family; tag?: string }
  | { version: 1; cmd: 'release'; ifname: string; address: string; addr_family: Family }
  | { version: 1; cmd: 'list' };

/** The only reply: `table` 0 and `error` on failure; `leases` for list. */
export interface Response {
  version: 1;
  cmd: 'response';
  ifname?: string;
  address?: string;
  addr_family?: Family;
  table?: number;
  lease_expires?: number;
  leases?: WireLease[];
  error?: string;
}

/** Returns why `tag` is not acceptable, or undefined. */
export function tagProblem(tag: unknown): string | undefined {
  if (typeof tag !== 'string') return `tag: expected a string, received ${typeof tag}`;
  if (tag.length > MAX_TAG_LENGTH) return `tag: expected at most ${MAX_TAG_LENGTH} characters, received ${tag.length}`;
  if (!/^[\x20-\x7e]*$/.test(tag)) return 'tag: expected printable ASCII';
  return undefined;
}

/** Checks ifname, address (canonicalised for its family) and addr_family. */
function parseKey(o: Record<string, unknown>): Parsed<{ ifname: string; address: string; addr_family: Family }> {
  const family = o.addr_family;
  if (family !== 4 && family !== 6) return fail(`addr_family: expected 4 or 6, received ${JSON.stringify(family)}`);
  const ifProblem = ifnameProblem(o.ifname);
  if (ifProblem) return fail(`ifname: expected a Linux interface name, received ${JSON.stringify(o.ifname)}: ${ifProblem}`);
  if (typeof o.address !== 'string') return fail(`address: expected a string, received ${typeof o.address}`);
  try {
    const address = parseIp(o.address, family).text;
    return { ok: true, value: { ifname: o.ifname as string, address, addr_family: family } };
  } catch (err) {
    return fail(`address: ${(err as Error).message}`);
  }
}

/** The allocator's commands, as `cmd` names them. */
export const ALLOCATOR_COMMANDS = ['request', 'release', 'list'] as const;

/** Checks one request, already a message of the protocol's version (lib/ipc/message.ts). Never throws. */
export function parseRequest(r: Record<string, unknown>): Parsed<Request> {
  switch (r.cmd) {
    case 'list':
      return { ok: true, value: { version: 1, cmd: 'list' } };
    case 'release': {
      const key = parseKey(r);
      return key.ok ? { ok: true, value: { version: 1, cmd: 'release', ...key.value } } : key;
    }
    case 'request': {
      const key = parseKey(r);
      if (!key.ok) return key;
      if (r.tag !== undefined) {
        const problem = tagProblem(r.tag);
        if (problem) return fail(problem);
      }
      const value: Request = { version: 1, cmd: 'request', ...key.value };
      if (typeof r.tag === 'string' && r.tag !== '') value.tag = r.tag;
      return { ok: true, value };
    }
    default:
      return fail(`cmd: expected request, release or list, received ${JSON.stringify(r.cmd)}`);
  }
}

/** Checks one stored or listed lease; undefined when it is not one. */
export function parseWireLease(o: unknown): WireLease | undefined {
  if (!isObject(o)) return undefined;
  const r = o;
  const key = parseKey(r);
  if (!key.ok) return undefined;
  if (!Number.isSafeInteger(r.table) || (r.table as number) < 1 || (r.table as number) > 2 ** 32 - 2) return undefined;
  if (!Number.isSafeInteger(r.lease_expires) || (r.lease_expires as number) < 0) return undefined;
  if (r.tag !== undefined && tagProblem(r.tag)) return undefined;
  const lease: WireLease = { ...key.value, table: r.table as number, lease_expires: r.lease_expires as number };
  if (typeof r.tag === 'string' && r.tag !== '') lease.tag = r.tag;
  return lease;
}

/** Parses one response line from the daemon. Never throws. */
export function parseResponse(line: string): Parsed<Response> {
  const message = parseReplyMessage(line, 'the allocator');
  if (!message.ok) return message;
  const r = message.value;
  if (r.table !== undefined && !(Number.isSafeInteger(r.table) && (r.table as number) >= 0)) {
    return fail(`the allocator sent table ${JSON.stringify(r.table)}`);
  }
  if (r.leases !== undefined) {
    if (!Array.isArray(r.leases)) return fail('the allocator sent leases that are not a list');
    const leases: WireLease[] = [];
    for (const item of r.leases) {
      const lease = parseWireLease(item);
      if (!lease) return fail(`the allocator sent a malformed lease ${JSON.stringify(item).slice(0, 200)}`);
      leases.push(lease);
    }
    return { ok: true, value: { ...(r as unknown as Response), leases } };
  }
  return { ok: true, value: r as unknown as Response };
}

/** One line on the wire. */
export const encodeLine = (message: Request | Response): string => `${JSON.stringify(message)}\n`;
