// The one applier. Consecutive ip changes of one family go through the ip
// channel as one batch (lib/exec/ip-channel.ts); sysctl changes are file
// writes. A batch ends with an IPv6 address it adds, and the next waits until
// the address has passed duplicate address detection (dad.ts): routes from it
// need that. ip stops at the first failing line and is not a transaction, so
// a failure is undone: the inverse of every line that ran goes through as a
// forced batch, and the caller re-reads state and plans again. A dry run
// prints the same batches instead of running them.

import type { IpChannel } from '../exec/ip-channel.js';
import { formatCommand } from '../exec/run.js';
import type { Family } from '../net/address.js';
import type { Change } from '../plan/change.js';
import { describeChange, ipArgs } from '../plan/render.js';
import { waitForDad } from './dad.js';
import { readSavedSysctls, writeSavedSysctls, writeSysctl } from '../state/sysctl.js';

export interface ApplyOptions {
  ip: IpChannel;
  runDir: string;
  dryRun: boolean;
  /** Where a dry run prints (one line per command, with its reason). */
  out: (text: string) => void;
  /** Told about sysctl writes that failed (not fatal: routing is in place). */
  warn: (message: string, fields?: Record<string, string>) => void;
  procSys?: string;
  /** Longest wait for an added IPv6 address to finish duplicate address detection (tests). */
  dadTimeoutMs?: number;
}

export interface ApplyResult {
  /** Changes that took effect, in order. */
  applied: Change[];
  /** The failure that stopped the run, if any. */
  error?: Error;
  failed?: Change;
}

type Segment = { family: Family; changes: Change[] } | { family: undefined; changes: Change[] };

/** An IPv6 address added: the batch ends with it, and its duplicate address detection is waited for (dad.ts). */
const addsIpv6Address = (c: Change | undefined): c is Extract<Change, { ifname: string; address: unknown }> =>
  c?.kind === 'add-address' && c.address.address.family === 6;

function segments(changes: readonly Change[]): Segment[] {
  const out: Segment[] = [];
  for (const c of changes) {
    const args = ipArgs(c);
    const family = args ? familyOf(c) : undefined;
    const last = out.at(-1);
    if (last && last.family === family && !addsIpv6Address(last.changes.at(-1))) last.changes.push(c);
    else out.push({ family, changes: [c] } as Segment);
  }
  return out;
}

function familyOf(c: Change): Family {
  if ('route' in c) return c.route.family;
  if ('rule' in c) return c.rule.family;
  if ('address' in c) return c.address.address.family;
  return 4;
}

async function applySysctl(c: Change, options: ApplyOptions): Promise<void> {
  if (c.kind === 'set-sysctl') {
    if (c.save) {
      const saved = await readSavedSysctls(options.runDir, c.ifname);
      if (!(c.key in saved)) await writeSavedSysctls(options.runDir, c.ifname, { ...saved, [c.key]: c.previous });
    }
    await writeSysctl(c.key, c.value, options.procSys);
  } else if (c.kind === 'forget-sysctls') {
    await writeSavedSysctls(options.runDir, c.ifname, {});
  }
}

/** Applies changes in order; stops at the first ip failure (sysctl failures are only warned about). */
export async function applyChanges(changes: readonly Change[], options: ApplyOptions): Promise<ApplyResult> {
  const applied: Change[] = [];
  for (const seg of segments(changes)) {
    if (seg.family === undefined) {
      for (const c of seg.changes) {
        if (options.dryRun) {
          options.out(`${describeChange(c)}\n`);
          continue;
        }
        try {
          await applySysctl(c, options);
          applied.push(c);
        } catch (err) {
          options.warn('sysctl change failed', { change: describeChange(c), error: (err as Error).message });
        }
      }
      continue;
    }
    const lines = seg.changes.map((c) => ipArgs(c)!);
    if (options.dryRun) {
      seg.changes.forEach((c) => options.out(`${describeChange(c)}\n`));
      continue;
    }
    const { ran, error } = await options.ip.apply(seg.family, lines);
    applied.push(...seg.changes.slice(0, ran));
    if (error) return { applied, error, failed: seg.changes[ran] };
    const last = seg.changes.at(-1);
    if (addsIpv6Address(last)) {
      try {
        await waitForDad(options.ip, last.ifname, last.address, options.dadTimeoutMs);
      } catch (err) {
        return { applied, error: err as Error, failed: last };
      }
    }
  }
  return { applied };
}

/** The change that undoes one that was applied; undefined when there is none (MTU, forget). */
export function inverseOf(c: Change): Change | undefined {
  const reason = `undo: ${c.reason}`;
  switch (c.kind) {
    case 'add-route':
      return { ...c, kind: 'del-route', reason };
    case 'del-route':
      return { ...c, kind: 'add-route', reason };
    case 'add-rule':
      return { ...c, kind: 'del-rule', reason };
    case 'del-rule':
      return { ...c, kind: 'add-rule', reason };
    case 'add-address':
      return { kind: 'del-address', ifname: c.ifname, address: c.address, subject: c.subject, reason };
    case 'del-address':
      // With the lifetimes and flags the planner recorded (a stale lease goes back as it was).
      return { ...c, kind: 'add-address', reason };
    case 'set-sysctl':
      return { ...c, value: c.previous, previous: c.value, save: false, reason };
    default:
      return undefined;
  }
}

/** Undoes applied changes, newest first; best effort (`ip -force`), never throws. */
export async function undoChanges(applied: readonly Change[], options: ApplyOptions): Promise<void> {
  const inverse = [...applied].reverse().map(inverseOf).filter((c): c is Change => c !== undefined);
  for (const seg of segments(inverse)) {
    try {
      if (seg.family === undefined) {
        for (const c of seg.changes) await applySysctl(c, options);
      } else {
        await options.ip.apply(seg.family, seg.changes.map((c) => ipArgs(c)!), { force: true });
      }
    } catch (err) {
      options.warn('undo step failed', { error: (err as Error).message });
    }
  }
}

export { formatCommand };
