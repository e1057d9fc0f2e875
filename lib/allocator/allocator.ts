// The table allocator: the lease table, persisted through the store, and
// the one function that answers a request (serve). It knows nothing of
// sockets: the daemon registers its commands on its socket
// (lib/daemon/socket.ts), and its own users (dispatched events, the watcher)
// call it in-process.
//
// Allocation is atomic because the lease table is only touched from the
// event loop. A new lease or a release is answered once the store holding it
// was written (writes are shared by everyone waiting, see StoreWriter),
// except for two kinds of callers that say so: a renewal only moves an
// expiry (written within RENEWAL_SAVE_DELAY_MS) and a `writeSoon` caller's
// change is in the kernel meanwhile (written within STORE_SOON_MS). A store
// that cannot be written (read-only, full) is logged once when found, shown
// by `status` and `doctor`, and leases are served from memory meanwhile: at
// the next start the kernel's tables are claimed back (kernel-claims.ts).

import type { TableAllocator } from '../apply/allocator.js';
import type { Config } from '../config/schema.js';
import type { Service } from '../daemon/service.js';
import type { Logger } from '../log/log.js';
import { LeaseTable } from './leases.js';
import { ALLOCATOR_COMMANDS, MAX_REQUEST_BYTES, parseRequest, type Request, type Response } from './protocol.js';
import { claimFromKernel, type KernelLease } from './kernel-claims.js';
import { loadStore, StoreWriter } from './store.js';

export interface AllocatorOptions {
  config: Pick<Config, 'storePath' | 'tableMin' | 'tableMax' | 'leaseTime'>;
  log: Logger;
  /** Unix time in seconds (tests pass a fake clock). */
  now?: () => number;
  /** How often leases nobody renewed are removed. */
  expiryIntervalMs?: number;
  /**
   * The leases the kernel shows (kernel-claims.ts), read before the socket
   * listens: those the store lacks are claimed first. Without it the store
   * alone decides (tests of the allocator on its own).
   */
  kernelLeases?: () => Promise<KernelLease[]>;
  /** Told of every refused request (the daemon's lease-refused event). */
  onRefused?: (key: { ifname: string; address: string; addr_family: 4 | 6 }, reason: string) => void;
}

export interface AllocatorService extends Service {
  readonly table: LeaseTable;
  readonly writer: StoreWriter;
  /**
   * Answers one request as if it came over the socket (the daemon's own
   * users: no round trip). `writeSoon`: a new lease or a release is answered
   * before the store is written, within STORE_SOON_MS, for a caller whose
   * change the kernel records meanwhile (a dispatched event: kernel-claims.ts
   * gets it back after a kill -9).
   */
  serve(request: Request, options?: { writeSoon?: boolean }): Promise<Response>;
  /**
   * The allocator as the routing core sees it (lib/apply/allocator.ts), for
   * the daemon's dispatched events: their new leases and releases are
   * answered before the store is written (writeSoon): the event puts them
   * in the kernel meanwhile, where the allocator finds them again after a
   * kill -9 (kernel-claims.ts), and the write's fsyncs (~0.7 ms of a
   * BOUND) fall after the hook has gone.
   */
  readonly local: TableAllocator;
  /** The commands the daemon's socket serves (lib/daemon/socket.ts): request, release and list. */
  readonly commands: Record<string, { maxBytes: number; run(request: Record<string, unknown>): Promise<Response> }>;
}

const unixNow = () => Math.floor(Date.now() / 1000);
/** Save failures are logged by the StoreWriter's onProblem, once per change. */
const reported = () => {};

/** Longest a renewal's new expiry stays in memory only (far below any sane lease_time). */
export const RENEWAL_SAVE_DELAY_MS = 5000;

/**
 * Longest a dispatched event's new lease or release stays in memory only: long
 * enough that the write (two fsyncs, ~1 ms of disk) lands after the hook has
 * gone, and a burst of events (every interface at boot) shares one write.
 */
export const STORE_SOON_MS = 50;

/** Loads the store (and the kernel's claims), and serves until close(). */
export async function startAllocator(options: AllocatorOptions): Promise<AllocatorService> {
  const { config, log } = options;
  const now = options.now ?? unixNow;

  const table = new LeaseTable(config);
  const loaded = loadStore(config.storePath, Date.now(), config);
  if (loaded.problems.length) {
    log.error(`lease store ${config.storePath} is damaged: ${loaded.problems.join('; ')}`, {
      file: config.storePath,
      moved_to: loaded.movedTo ?? '(could not move it)',
      recovered: loaded.leases.length,
    });
  }
  for (const problem of table.load(loaded.leases)) log.warn(`lease store ${config.storePath}: ${problem}`);
  // A store that cannot be written (read-only, full) is said once when it starts failing and once when it works again.
  const writer = new StoreWriter(config.storePath, () => table.list(), (problem) => {
    if (problem) log.error(`lease store ${config.storePath} cannot be written (${problem.error}): leases are kept in memory only until it can; after a restart the kernel's tables are claimed back, other leases are lost`, { code: problem.code });
    else log.info('lease store writable again', { file: config.storePath });
  });
  const claimed = options.kernelLeases ? await claimKernelLeases(options.kernelLeases) : 0;
  // Written now: a damaged file replaced, the claims recorded, and a store that cannot be written found at start.
  await writer.save().catch(reported);
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
    const { claimed, dropped, conflicts } = claimFromKernel(table, found, now());
    for (const l of dropped) log.warn('store lease dropped: the kernel routes a live address through its table (the kernel is the truth)', { ifname: l.ifname, address: l.address, table: l.table });
    for (const l of claimed) log.info('lease claimed: the kernel routes the address through this table, the store did not have it', { ifname: l.ifname, address: l.address, table: l.table });
    for (const k of conflicts) log.warn('a stale entry (address gone) uses a table the store gives another address; the store stands', { ifname: k.ifname, address: k.address, table: k.table });
    return claimed.length + dropped.length;
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
        options.onRefused?.(key, outcome.error);
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
        // in between loses at most that much of the extension.
        writer.saveLater(RENEWAL_SAVE_DELAY_MS, reported);
        return answer;
      }
    }
    if (serveOptions.writeSoon) {
      writer.saveLater(STORE_SOON_MS, reported);
      return answer;
    }
    // A store that cannot be written is reported by the writer (once); the lease is served from memory, as a dispatched event's is.
    await writer.save().catch(reported);
    return answer;
  }

  /** A request off the socket: checked here, answered by serve. */
  const run = async (o: Record<string, unknown>): Promise<Response> => {
    const parsed = parseRequest(o);
    if (parsed.ok) return serve(parsed.value);
    log.warn('refused a malformed request', { reason: parsed.error });
    return reply({ table: 0, error: parsed.error });
  };
  const commands = Object.fromEntries(ALLOCATOR_COMMANDS.map((cmd) => [cmd, { maxBytes: MAX_REQUEST_BYTES, run }]));

  const keyOf = (k: { ifname: string; address: { text: string; family: 4 | 6 } }) => ({ ifname: k.ifname, address: k.address.text, addr_family: k.address.family });
  const soon = { writeSoon: true };
  const local: TableAllocator = {
    async requestTable(k) {
      const r = await serve({ version: 1, cmd: 'request', ...keyOf(k), ...(k.tag ? { tag: k.tag } : {}) }, soon);
      return r.error ? 0 : (r.table ?? 0);
    },
    async releaseTable(k) {
      const r = await serve({ version: 1, cmd: 'release', ...keyOf(k) }, soon);
      if (r.error) throw new Error(r.error);
      return (r.table ?? 0) > 0;
    },
    async peekTable(k) {
      return table.list().find((l) => l.ifname === k.ifname && l.address === k.address.text)?.table ?? 0;
    },
    async giveTable(owner, t) {
      const got = table.reassign(keyOf(owner), t, now());
      if (!got) return;
      for (const l of got.dropped) log.warn('lease dropped: the kernel routes another live address through its table', { ifname: l.ifname, address: l.address, table: l.table, owner: `${owner.ifname} ${owner.address.text}` });
      log.info('lease claimed: the kernel routes the address through this table', { ifname: owner.ifname, address: owner.address.text, table: t });
      writer.saveLater(STORE_SOON_MS, reported);
    },
  };

  const expiryMs = options.expiryIntervalMs ?? Math.min(60_000, Math.max(1000, (config.leaseTime * 1000) / 4));
  const sweeper = setInterval(() => {
    const expired = table.expire(now());
    if (!expired.length) return;
    logExpired(expired);
    writer.save().catch(reported);
  }, expiryMs);

  return {
    name: 'allocator',
    table,
    writer,
    serve,
    local,
    commands,
    async close() {
      clearInterval(sweeper);
      await writer.idle();
      await writer.save().catch(reported);
      log.info('allocator stopped', { leases: table.size });
    },
  };
}
