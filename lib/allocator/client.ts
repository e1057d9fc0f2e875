// The allocator client (the lease CLI, udev-remove's leftover leases, and
// hooks working alone): one connect, one line out, one line back, through
// the same exchange as the hooks' jobs (lib/ipc/line-socket.ts).

import type { Config } from '../config/schema.js';
import { parseIp, type IpAddress } from '../net/address.js';
import { parseIfname } from '../net/ifname.js';
import {
  encodeLine,
  MAX_RESPONSE_BYTES,
  parseResponse,
  tagProblem,
  type Request,
  type Response,
  type WireLease,
} from './protocol.js';
import { exchangeLine } from '../ipc/line-socket.js';
import { trace } from '../trace/trace.js';

/** What a lease is for; the family is `address.family`. */
export interface LeaseKey {
  ifname: string;
  address: IpAddress;
}

/** A lease as the daemon holds it. */
export interface Lease extends LeaseKey {
  table: number;
  /** Unix time, seconds. */
  expires: number;
  tag?: string;
}

/** The allocator could not be asked or answered with an error. */
export class AllocatorError extends Error {
  override name = 'AllocatorError';
  constructor(
    message: string,
    /** errno code for connection failures (ENOENT, ECONNREFUSED, EACCES, ETIMEDOUT). */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface CallOptions {
  /** Per attempt: connect, send, receive. Default 3000 ms. */
  timeoutMs?: number;
}

/** Sends one request and returns the daemon's reply (error replies included). */
export async function call(socketPath: string, request: Request, options: CallOptions = {}): Promise<Response> {
  const timeoutMs = options.timeoutMs ?? 3000;
  trace('allocator connecting');
  const r = await exchangeLine(socketPath, encodeLine(request).trimEnd(), {
    timeoutMs,
    maxReplyBytes: MAX_RESPONSE_BYTES,
    onConnect: () => trace('allocator connected'),
  });
  trace('allocator replied');
  if (!r.ok) {
    if (r.code === 'ETIMEDOUT') throw new AllocatorError(`the allocator at ${socketPath} did not answer within ${timeoutMs} ms`, 'ETIMEDOUT');
    if (!r.code) throw new AllocatorError(`the allocator at ${socketPath}: ${r.why}`);
    const why =
      r.code === 'EACCES'
        ? 'permission denied (only root may use the allocator)'
        : r.code === 'ENOENT' || r.code === 'ECONNREFUSED'
          ? 'no allocator daemon is running (is `multihomed-routing daemon` started?)'
          : r.why;
    throw new AllocatorError(`cannot reach the allocator at ${socketPath}: ${why}`, r.code);
  }
  const parsed = parseResponse(r.reply);
  if (!parsed.ok) throw new AllocatorError(parsed.error);
  return parsed.value;
}

const keyFields = (key: LeaseKey) => ({
  ifname: parseIfname(key.ifname),
  address: key.address.text,
  addr_family: key.address.family,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RequestOptions extends CallOptions {
  /** Tries before giving up (default 5). */
  attempts?: number;
  /** Pause between tries (default 2000 ms). */
  retryDelayMs?: number;
  /** Told about every failed try, e.g. to log it. */
  onError?: (err: Error, attempt: number) => void;
}

/**
 * Leases a table for (ifname, address, family), or renews the lease it has.
 * Returns the table, or 0 when none could be had after `attempts` tries (the
 * caller falls back to the main table). Permission errors are not retried.
 */
export async function requestTable(
  config: Pick<Config, 'socketPath'>,
  key: LeaseKey & { tag?: string },
  opts: RequestOptions = {},
): Promise<number> {
  const request: Request = { version: 1, cmd: 'request', ...keyFields(key) };
  if (key.tag !== undefined && key.tag !== '') {
    const problem = tagProblem(key.tag);
    if (problem) throw new AllocatorError(problem);
    request.tag = key.tag;
  }
  const attempts = Math.max(1, opts.attempts ?? 5);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let error: Error;
    try {
      const response = await call(config.socketPath, request, opts);
      if (response.table && !response.error) return response.table;
      error = new AllocatorError(response.error ?? 'the allocator granted no table');
    } catch (err) {
      error = err as Error;
    }
    opts.onError?.(error, attempt);
    if ((error as AllocatorError).code === 'EACCES') break;
    if (attempt < attempts) await sleep(opts.retryDelayMs ?? 2000);
  }
  return 0;
}

/** Ends the lease of `key`: true when one was released, false when there was none. Throws AllocatorError when the daemon cannot be asked. */
export async function releaseTable(config: Pick<Config, 'socketPath'>, key: LeaseKey, opts: CallOptions = {}): Promise<boolean> {
  const response = await call(config.socketPath, { version: 1, cmd: 'release', ...keyFields(key) }, opts);
  if (response.error) throw new AllocatorError(response.error);
  return (response.table ?? 0) > 0;
}

/** Turns a lease from the wire into the typed form. */
export function leaseFromWire(w: WireLease): Lease {
  const lease: Lease = { ifname: w.ifname, address: parseIp(w.address, w.addr_family), table: w.table, expires: w.lease_expires };
  if (w.tag !== undefined) lease.tag = w.tag;
  return lease;
}

/** Every lease the daemon holds, by family then table. Throws AllocatorError when the daemon cannot be asked. */
export async function listLeases(config: Pick<Config, 'socketPath'>, opts: CallOptions = {}): Promise<Lease[]> {
  const response = await call(config.socketPath, { version: 1, cmd: 'list' }, opts);
  if (response.error) throw new AllocatorError(response.error);
  return (response.leases ?? []).map(leaseFromWire);
}
