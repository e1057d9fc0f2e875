// The lease store: one JSON file, replaced atomically (lib/fs/atomic.ts:
// temp file, fsync, rename, fsync of the directory), so a crash or kill -9
// leaves either the old or the new file, never half of one. It is written
// one lease per line, which lets a damaged file (truncated by a full disk,
// edited by hand) be salvaged line by line. A damaged file is reported,
// moved aside as `NAME.corrupt-<unix ms>` and replaced: the daemon never
// refuses to start over it, so it cannot crash in a loop.

import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import { parseWireLease, type WireLease } from './protocol.js';

export const STORE_VERSION = 1;

export interface LoadedStore {
  leases: WireLease[];
  /** What was wrong with the file, one sentence each (empty when all is well). */
  problems: string[];
  /** Where the damaged file was moved, when it was. */
  movedTo?: string;
}

/** The file's text: valid JSON with one lease per line. */
export function renderStore(leases: readonly WireLease[]): string {
  const lines = leases.map((l) => JSON.stringify(l));
  return `{"version":${STORE_VERSION},"leases":[\n${lines.join(',\n')}\n]}\n`;
}

/** Picks out every line of damaged text that is a whole lease. */
function salvage(text: string): WireLease[] {
  const found: WireLease[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/,$/, '');
    if (!line.startsWith('{') || !line.endsWith('}')) continue;
    try {
      const lease = parseWireLease(JSON.parse(line));
      if (lease) found.push(lease);
    } catch {
      // not a whole line: skip it
    }
  }
  return found;
}

/** The kernel's own tables (default, main, local): never a lease, whatever a file says. */
const RESERVED_TABLES = new Set([253, 254, 255]);

export interface TableRange {
  tableMin: number;
  tableMax: number;
}

/**
 * Drops leases no allocator could have granted: a reserved table always; a
 * table outside `range` when the lines were salvaged from a damaged file
 * (a sound file written under another range keeps them: they are never
 * handed out again, lib/allocator/leases.ts).
 */
function refuse(leases: WireLease[], problems: string[], salvaged: boolean, range?: TableRange): WireLease[] {
  return leases.filter((l) => {
    const outside = salvaged && range && (l.table < range.tableMin || l.table > range.tableMax);
    if (!RESERVED_TABLES.has(l.table) && !outside) return true;
    problems.push(`lease for ${l.ifname} ${l.address} dropped: table ${l.table} is ${outside && !RESERVED_TABLES.has(l.table) ? `outside table_range ${range!.tableMin}-${range!.tableMax}` : 'one of the kernel\'s own (253-255)'}`);
    return false;
  });
}

/** Parses store text; pure. `problems` is empty for a sound file. */
export function parseStore(text: string, range?: TableRange): { leases: WireLease[]; problems: string[] } {
  if (text.trim() === '') return { leases: [], problems: ['the file is empty (truncated?)'] };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const found = salvage(text);
    const problems = [`not valid JSON (${(err as Error).message}); recovered ${found.length} lease(s) line by line`];
    return { leases: refuse(found, problems, true, range), problems };
  }
  const d = doc as { version?: unknown; leases?: unknown };
  if (typeof doc !== 'object' || doc === null || d.version !== STORE_VERSION || !Array.isArray(d.leases)) {
    const found = salvage(text);
    const problems = [`expected {"version":${STORE_VERSION},"leases":[...]}; recovered ${found.length} lease(s) line by line`];
    return { leases: refuse(found, problems, true, range), problems };
  }
  const leases: WireLease[] = [];
  const problems: string[] = [];
  d.leases.forEach((item, i) => {
    const lease = parseWireLease(item);
    if (lease) leases.push(lease);
    else problems.push(`lease #${i + 1} is malformed and was dropped: ${JSON.stringify(item).slice(0, 200)}`);
  });
  return { leases: refuse(leases, problems, problems.length > 0, range), problems };
}

/**
 * Reads the store. A missing file is an empty store; a damaged or unreadable
 * one is moved aside and whatever could be salvaged is returned.
 */
export function loadStore(path: string, nowMs: number = Date.now(), range?: TableRange): LoadedStore {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { leases: [], problems: [] };
    return { leases: [], problems: [`cannot read it (${e.code ?? e.message})`], ...moveAside(path, nowMs) };
  }
  const { leases, problems } = parseStore(text, range);
  if (!problems.length) return { leases, problems };
  return { leases, problems, ...moveAside(path, nowMs) };
}

function moveAside(path: string, nowMs: number): { movedTo?: string } {
  const target = `${path}.corrupt-${nowMs}`;
  try {
    renameSync(path, target);
    return { movedTo: target };
  } catch {
    return {};
  }
}

/** Why the store cannot be written (a read-only or full file system), since when. */
export interface StoreProblem {
  /** The error's code (EROFS, ENOSPC, EACCES …) or its message. */
  code: string;
  error: string;
  /** Unix seconds. */
  since: number;
}

/**
 * Coalesced, durable saves. `save()` resolves once a write that began after
 * the call has reached the disk, so a caller may acknowledge what it changed
 * before calling. While one write runs, every caller that arrives shares the
 * next one: under a burst of requests the file is written a few times, not
 * once per request.
 */
export class StoreWriter {
  private writing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  /** Completed writes (for tests and the benchmark). */
  writes = 0;

  private current: StoreProblem | undefined;

  /**
   * `onProblem` hears when writing starts failing, fails differently, or
   * works again: once per change, not once per save (a read-only store
   * would otherwise log twice a second).
   */
  constructor(
    private readonly path: string,
    private readonly snapshot: () => readonly WireLease[],
    private readonly onProblem?: (problem: StoreProblem | undefined) => void,
  ) {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    } catch (err) {
      this.note(err as Error); // the daemon runs on: the first save reports it again
    }
  }

  /** Why the last write failed; undefined once one succeeded. */
  get problem(): StoreProblem | undefined {
    return this.current;
  }

  private note(err: Error | undefined): void {
    if (!err) {
      if (!this.current) return;
      this.current = undefined;
      this.onProblem?.(undefined);
      return;
    }
    const code = (err as NodeJS.ErrnoException).code ?? err.message;
    if (this.current?.code === code) return;
    this.current = { code, error: err.message, since: Math.floor(Date.now() / 1000) };
    this.onProblem?.(this.current);
  }

  private later: NodeJS.Timeout | undefined;
  private laterDue = 0;

  /**
   * A save within `delayMs` (one timer for any number of calls: a sooner
   * one replaces a later one), for changes a crash may lose or the kernel
   * records meanwhile; any save() before then covers them too.
   */
  saveLater(delayMs: number, onError: (err: Error) => void): void {
    const due = Date.now() + delayMs;
    if (this.later) {
      if (this.laterDue <= due) return;
      clearTimeout(this.later);
    }
    this.laterDue = due;
    this.later = setTimeout(() => {
      this.later = undefined;
      this.save().catch(onError);
    }, delayMs);
    this.later.unref();
  }

  /** True while a delayed save is pending (tests). */
  get pendingLater(): boolean {
    return this.later !== undefined;
  }

  save(): Promise<void> {
    if (this.later) {
      clearTimeout(this.later);
      this.later = undefined;
    }
    if (this.queued) return this.queued;
    if (!this.writing) return this.start();
    const queued = this.writing.then(
      () => this.start(),
      () => this.start(),
    );
    this.queued = queued;
    return queued;
  }

  /** Resolves when nothing is being written. */
  async idle(): Promise<void> {
    while (this.writing || this.queued) await (this.queued ?? this.writing)!.catch(() => {});
  }

  private start(): Promise<void> {
    this.queued = undefined;
    // One turn of the event loop later, so the requests that arrived together
    // share the write; the snapshot is taken then, after every change its
    // waiters made. The write itself is synchronous: through fs/promises its
    // eight calls (open, write, fsync, close, rename, fsync of the directory)
    // were eight thread-pool round trips, ~4 ms before a new lease could be
    // answered instead of ~0.5 ms.
    const p = new Promise<void>((resolve, reject) =>
      setImmediate(() => {
        try {
          writeFileAtomic(this.path, renderStore(this.snapshot()), 0o600);
          this.writes++;
          this.note(undefined);
          resolve();
        } catch (err) {
          this.note(err as Error);
          reject(err as Error);
        }
      }),
    );
    this.writing = p;
    const clear = () => {
      if (this.writing === p) this.writing = undefined;
    };
    p.then(clear, clear);
    return p;
  }
}
