// The allocator server: the lease table, served on a Unix stream socket to
// many clients at once, persisted through the store.
//
// Who may connect: Node has no SO_PEERCRED without a native addon, so the
// guard is the file system. The socket's directory must be owned by us
// (root) and 0700, the socket itself is 0600; connect(2) on a Unix socket
// needs write permission on it, so only root gets through. We refuse to
// start when the directory is anything else rather than repair it silently.
//
// One client cannot disturb another: each connection is parsed on its own,
// a malformed line gets an error reply, an oversized one an error reply and
// the connection closed, an idle or half-sent one is closed after a timeout.
// Allocation is atomic because the lease table is only touched from the
// event loop; a lease is acknowledged only after the store holding it was
// written (writes are shared by everyone waiting, see StoreWriter).

import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/log.js';
import { LeaseTable } from './leases.js';
import { MAX_EVENT_BYTES } from '../delegate/wire.js';
import { MAX_REQUEST_BYTES, parseRequest, type Request, type Response } from './protocol.js';
import { claimFromKernel, type KernelLease } from './kernel-claims.js';
import { loadStore, StoreWriter } from './store.js';
import { trace } from '../trace/trace.js';

/** A long-running part of the daemon. */
export interface Service {
  name: string;
  /** Stops serving and flushes state; resolves when done. */
  close(): Promise<void>;
}

export interface AllocatorOptions {
  config: Pick<Config, 'socketPath' | 'storePath' | 'tableMin' | 'tableMax' | 'leaseTime'>;
  log: Logger;
  /** Unix time in seconds (tests pass a fake clock). */
  now?: () => number;
  /** A connection silent this long (also mid-line) is closed. */
  idleTimeoutMs?: number;
  /** How often leases nobody renewed are removed. */
  expiryIntervalMs?: number;
  maxConnections?: number;
  /**
   * Handles `cmd: "event"` lines (lib/delegate): gets the parsed object,
   * returns the reply. Event lines may be up to MAX_EVENT_BYTES long.
   */
  onEvent?: (request: Record<string, unknown>, connection: Connection) => Promise<object>;
  /**
   * Handles a `cmd: "prefetch"` line (lib/delegate/wire.ts): a hook says
   * what the event it sends next on this connection touches. No reply; the
   * first such line of a connection only, and only before its first request.
   */
  onPrefetch?: (request: Record<string, unknown>, connection: Connection) => void;
  /**
   * The leases the kernel shows (kernel-claims.ts), read before the socket
   * listens: those the store lacks are claimed first. Without it the store
   * alone decides (tests of the allocator on its own).
   */
  kernelLeases?: () => Promise<KernelLease[]>;
}

/** One client connection, as onEvent and onPrefetch see it: the same object for all its lines. */
export interface Connection {
  /** Calls `cb` once the connection is closed (at once if it already is). */
  onClose(cb: () => void): void;
}

export interface AllocatorService extends Service {
  readonly table: LeaseTable;
  readonly writer: StoreWriter;
  /**
   * Answers one request as if it came over the socket (the daemon's own
   * users: no round trip). `writeSoon`: a new lease or a release is answered
   * before the store is written, within STORE_SOON_MS, for a caller whose
   * change the kernel records meanwhile (a delegated event: kernel-claims.ts
   * gets it back after a kill -9).
   */
  serve(request: Request, options?: { writeSoon?: boolean }): Promise<Response>;
}

/** Why the allocator will not start; the message is the log line. */
export class AllocatorStartError extends Error {
  override name = 'AllocatorStartError';
}

const EVENT_PREFIX = Buffer.from('{"version":1,"cmd":"event",');

/** Most lines one connection may have waiting for their replies. */
const MAX_PIPELINED = 32;

const unixNow = () => Math.floor(Date.now() / 1000);

/** Creates the socket directory 0700, or checks that the existing one is ours and 0700. */
export function prepareSocketDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o700); // the umask may have taken bits away, never added; be exact
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  const uid = process.geteuid?.() ?? 0;
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  if (!st.isDirectory()) {
    throw new AllocatorStartError(`refusing to start: socket directory ${dir} exists and is not a directory`);
  }
  if (st.uid !== uid || (st.mode & 0o7777) !== 0o700) {
    throw new AllocatorStartError(
      `refusing to start: socket directory ${dir} must be owned by uid ${uid} with mode 0700, found uid ${st.uid} mode ${mode} (fix it or remove it)`,
    );
  }
}

/** Removes a socket left by a dead daemon; refuses a live one or a non-socket. */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new AllocatorStartError(`refusing to start: ${path} exists and is not a socket`);
  }
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new AllocatorStartError(`refusing to start: another allocator is listening on ${path}`);
  unlinkSync(path);
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // No window in which the socket has wider permissions than 0600.
    const umask = process.umask(0o177);
    server.once('error', (err) => {
      process.umask(umask);
      reject(err);
    });
    server.listen(path, () => {
      process.umask(umask);
      server.removeAllListeners('error');
      resolve();
    });
  });
}

/** Longest a renewal's new expiry stays in memory only (far below any sane lease_time). */
export const RENEWAL_SAVE_DELAY_MS = 5000;

/**
 * Longest a delegated event's new lease or release stays in memory only: long
 * enough that the write (two fsyncs, ~1 ms of disk) lands after the hook has
 * gone, and a burst of events (every interface at boot) shares one write.
 */
export const STORE_SOON_MS = 50;

/** Loads the store, listens on the socket, and serves until close(). */
export async function startAllocator(options: AllocatorOptions): Promise<AllocatorService> {
  const { config, log } = options;
  const now = options.now ?? unixNow;
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;

  // Socket first: a second daemon must refuse before it touches the store.
  prepareSocketDir(dirname(config.socketPath));
  await removeStaleSocket(config.socketPath);

  const table = new LeaseTable(config);
  const loaded = loadStore(config.storePath);
  if (loaded.problems.length) {
    log.error(`lease store ${config.storePath} is damaged: ${loaded.problems.join('; ')}`, {
      file: config.storePath,
      moved_to: loaded.movedTo ?? '(could not move it)',
      recovered: loaded.leases.length,
    });
  }
  for (const problem of table.load(loaded.leases)) log.warn(`lease store ${config.storePath}: ${problem}`);
  const writer = new StoreWriter(config.storePath, () => table.list());
  const claimed = options.kernelLeases ? await claimKernelLeases(options.kernelLeases) : 0;
  if (loaded.problems.length || claimed) await writer.save(); // replace the damaged file, record the claims, now
  log.info('leases loaded', { file: config.storePath, leases: table.size, ...(options.kernelLeases ? { claimed_from_kernel: claimed } : {}) });

  /** Claims the tables the kernel uses that the store lacks; returns how many. A failed read is logged, not fatal. */
  async function claimKernelLeases(read: () => Promise<KernelLease[]>): Promise<number> {
    let found: KernelLease[];
    try {
      found = await read();
    } catch (err) {
      log.warn('could not read which tables the kernel uses: leases come from the store alone', { error: (err as Error).message });
      return 0;
    }
    const { claimed, conflicts } = claimFromKernel(table, found, now());
    for (const l of claimed) log.info('lease claimed: the kernel routes the address through this table, the store did not have it', { ifname: l.ifname, address: l.address, table: l.table });
    for (const k of conflicts) log.warn('the kernel routes the address through a table the store gives another address; left to the next event', { ifname: k.ifname, address: k.address, table: k.table });
    return claimed.length;
  }


  const reply = (fields: Omit<Response, 'version' | 'cmd'>): Response => ({ version: 1, cmd: 'response', ...fields });

  const logExpired = (expired: readonly { ifname: string; address: string; table: number }[]) => {
    for (const l of expired) log.info('lease expired', { ifname: l.ifname, address: l.address, table: l.table });
  };

  async function serve(request: Request, serveOptions: { writeSoon?: boolean } = {}): Promise<Response> {
    if (request.cmd === 'list') return reply({ leases: table.list() });
    const key = { ifname: request.ifname, address: request.address, addr_family: request.addr_family };
    let answer: Response;
    if (request.cmd === 'release') {
      const gone = table.release(key);
      if (gone) log.info('lease released', { ifname: gone.ifname, address: gone.address, table: gone.table });
      answer = reply({ ...key, table: gone?.table ?? 0 });
      if (!gone) return answer;
    } else {
      const outcome = table.request(request.tag === undefined ? key : { ...key, tag: request.tag }, now());
      logExpired(outcome.expired);
      if (!outcome.ok) {
        log.warn('lease refused', { ifname: key.ifname, address: key.address, reason: outcome.error });
        if (outcome.expired.length) await writer.save().catch(() => {});
        return reply({ ...key, table: 0, error: outcome.error });
      }
      const l = outcome.lease;
      (outcome.isNew ? log.info : log.debug)(outcome.isNew ? 'lease granted' : 'lease renewed', {
        ifname: l.ifname,
        address: l.address,
        table: l.table,
        tag: l.tag,
      });
      answer = reply({ ...key, table: l.table, lease_expires: l.lease_expires });
      if (!outcome.isNew && !outcome.expired.length) {
        // A renewal only moves lease_expires (and the tag): answered at once,
        // written with the next save or within RENEWAL_SAVE_DELAY_MS. A crash
        // in between loses at most that much of the extension; a new lease
        // or a release is always on disk before it is answered.
        writer.saveLater(RENEWAL_SAVE_DELAY_MS, (err) => log.error(`lease store ${config.storePath} not writable: ${err.message}`));
        return answer;
      }
    }
    if (serveOptions.writeSoon) {
      writer.saveLater(STORE_SOON_MS, (err) => log.error(`lease store ${config.storePath} not writable: ${err.message}`));
      return answer;
    }
    try {
      await writer.save();
    } catch (err) {
      const message = `lease store ${config.storePath} not writable: ${(err as Error).message}`;
      log.error(message);
      return reply({ ...key, table: 0, error: message });
    }
    return answer;
  }

  const connections = new Set<Socket>();

  /** The object of a `cmd` line (event, prefetch); undefined for anything else (parseRequest answers it). */
  function delegateRequest(line: string, cmd: 'event' | 'prefetch'): Record<string, unknown> | undefined {
    try {
      const o = JSON.parse(line) as unknown;
      return typeof o === 'object' && o !== null && !Array.isArray(o) && (o as Record<string, unknown>).cmd === cmd ? (o as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  function handle(socket: Socket): void {
    connections.add(socket);
    socket.setTimeout(idleTimeoutMs);
    // Idle, not busy: a connection waiting for an event being applied stays.
    socket.on('timeout', () => waiting === 0 && socket.destroy());
    socket.on('error', () => {}); // a client that went away is its own problem
    socket.on('close', () => connections.delete(socket));
    let pending: Buffer = Buffer.alloc(0);
    let waiting = 0;
    let chain: Promise<void> = Promise.resolve();
    let closing = false;
    let requests = 0;
    const connection: Connection = { onClose: (cb) => (socket.destroyed ? queueMicrotask(cb) : socket.once('close', cb)) };

    // Event lines (a hook's RoutingEvent, lib/delegate) may be longer; they begin as the client writes them.
    const maxLine = (buf: Buffer) => (options.onEvent && buf.subarray(0, EVENT_PREFIX.length).equals(EVENT_PREFIX) ? MAX_EVENT_BYTES : MAX_REQUEST_BYTES);
    const send = (response: Response | object) => {
      if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(response)}\n`);
    };
    const refuseAndClose = (error: string) => {
      closing = true;
      log.warn('closing a client connection', { reason: error });
      chain = chain.then(() => {
        send(reply({ table: 0, error }));
        socket.end();
      });
    };

    socket.on('data', (chunk: Buffer) => {
      trace('socket data');
      if (closing) return;
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (let nl = pending.indexOf(10); nl >= 0 && !closing; nl = pending.indexOf(10)) {
        const limit = maxLine(pending);
        const line = pending.subarray(0, nl).toString('utf8').replace(/\r$/, '');
        pending = pending.subarray(nl + 1);
        if (nl > limit) return refuseAndClose(`request longer than ${limit} bytes`);
        if (line.trim() === '') continue;
        const prefetch = options.onPrefetch && requests === 0 && line.includes('"prefetch"') ? delegateRequest(line, 'prefetch') : undefined;
        requests++;
        if (prefetch) {
          options.onPrefetch!(prefetch, connection);
          continue;
        }
        if (++waiting > MAX_PIPELINED) return refuseAndClose(`more than ${MAX_PIPELINED} requests waiting on one connection`);
        chain = chain.then(async () => {
          const event = options.onEvent && line.includes('"event"') ? delegateRequest(line, 'event') : undefined;
          const parsed = event ? { ok: true as const, value: undefined } : parseRequest(line);
          let response: Response | object;
          if (event) {
            response = await options.onEvent!(event, connection).catch((err: Error) => {
              log.error('event failed', { reason: err.message });
              return reply({ error: err.message });
            });
          } else if (!parsed.ok) {
            log.warn('refused a malformed request', { reason: parsed.error });
            response = reply({ table: 0, error: parsed.error });
          } else {
            response = await serve(parsed.value!).catch((err: Error) => {
              log.error('request failed', { reason: err.message });
              return reply({ table: 0, error: err.message });
            });
          }
          waiting--;
          send(response);
          trace('reply sent');
        });
      }
      if (pending.length > maxLine(pending)) refuseAndClose(`request longer than ${maxLine(pending)} bytes`);
    });
  }

  const server = createServer({ allowHalfOpen: false }, handle);
  server.maxConnections = options.maxConnections ?? 1024;
  await listen(server, config.socketPath);
  chmodSync(config.socketPath, 0o600);
  log.info('allocator listening', {
    socket: config.socketPath,
    tables: `${config.tableMin}-${config.tableMax}`,
    lease_time: config.leaseTime,
  });

  const expiryMs = options.expiryIntervalMs ?? Math.min(60_000, Math.max(1000, (config.leaseTime * 1000) / 4));
  const sweeper = setInterval(() => {
    const expired = table.expire(now());
    if (!expired.length) return;
    logExpired(expired);
    writer.save().catch((err: Error) => log.error(`lease store ${config.storePath} not writable: ${err.message}`));
  }, expiryMs);

  return {
    name: 'allocator',
    table,
    writer,
    serve,
    async close() {
      clearInterval(sweeper);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of connections) socket.destroy();
      await closed;
      await writer.idle();
      await writer.save().catch((err: Error) => log.error(`lease store ${config.storePath} not writable: ${err.message}`));
      log.info('allocator stopped', { leases: table.size });
    },
  };
}
