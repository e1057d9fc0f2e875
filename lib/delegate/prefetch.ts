// The daemon's read ahead of an announced event. A hook connects as soon as
// it has its config and says which interface and families its event will
// touch (wire.ts PrefetchRequest), then spends ~1 ms of cold code parsing its
// environment before the event follows on the same connection. An idle
// daemon spends that time taking the routing lock and reading the kernel
// state, and hands both to the event: its state read (~0.9 ms, a round trip
// to an `ip` process) is then off the hook's path (BENCHMARKS.md).
//
// The read is as fresh as one made when the event arrives: it starts after
// the hook did (dhclient-script runs its enter hooks before it changes
// anything), under the routing lock, which is held until the event is
// applied, so nothing of ours changes the kernel in between either. While
// it waits, the slot in the event queue is taken: other events wait, at
// most `waitMs`, and only when the hook stops without sending its event (it
// then closes the connection, which ends the wait at once, unless stuck).

import type { HeldRead, Scope } from '../apply/handle.js';
import type { KernelState } from '../state/types.js';

export interface PrefetchDeps {
  /** Runs one task at a time; `length` counts tasks waiting or running. */
  queue: { length: number; run<T>(task: () => Promise<T>): Promise<T> };
  /** Takes the routing lock; returns its release. */
  lock: () => Promise<() => Promise<void>>;
  read: (scope: Scope) => Promise<KernelState>;
  /** How long an announced event may keep the queue waiting. */
  waitMs: number;
  /** The connection's end (the hook gone without its event). */
  onClose: (connection: object, cb: () => void) => void;
}

type Task<T> = (held: HeldRead | undefined) => Promise<T>;

const once = (fn: () => Promise<void>) => {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
};

/** The read-ahead of one daemon: `announce` on a prefetch line, `take` for the event that follows. */
export function createPrefetcher(deps: PrefetchDeps) {
  /** The announcement waiting for its event, and how to hand the event to it. */
  let waiting: { connection: object; hand: (task: Task<unknown> | undefined) => void } | undefined;

  return {
    /**
     * Starts reading for an announced event when nothing else is queued;
     * returns whether it did. The event must then come through `take`.
     */
    announce(connection: object, scope: Scope): boolean {
      if (deps.queue.length > 0 || waiting) return false;
      let resolveTask!: (task: Task<unknown> | undefined) => void;
      const handed = new Promise<Task<unknown> | undefined>((resolve) => (resolveTask = resolve));
      const entry = {
        connection,
        // The first hand decides: the event, or nothing (timeout, connection closed).
        hand: (task: Task<unknown> | undefined) => {
          if (waiting === entry) waiting = undefined;
          resolveTask(task);
        },
      };
      waiting = entry;
      const timer = setTimeout(() => entry.hand(undefined), deps.waitMs);
      deps.onClose(connection, () => entry.hand(undefined));
      void deps.queue.run(async () => {
        let release: (() => Promise<void>) | undefined;
        let state: Promise<KernelState> | undefined;
        try {
          release = once(await deps.lock());
          state = deps.read(scope);
          state.catch(() => {}); // the event reads again if this failed
        } catch {
          // No lock (a stuck holder): the event, if it comes, tries as it would have.
        }
        const task = await handed;
        clearTimeout(timer);
        try {
          if (task) await task(release && state ? { release, state, ...scope } : undefined);
        } catch {
          // the event's own promise (take) carries its failure
        } finally {
          await release?.();
        }
      });
      return true;
    },

    /**
     * Runs `task` in the slot its connection's announcement holds, with the
     * lock and the read; undefined when there is none (the caller queues it).
     */
    take<T>(connection: object, task: Task<T>): Promise<T> | undefined {
      const entry = waiting;
      if (entry?.connection !== connection) return undefined;
      return new Promise<T>((resolve, reject) => entry.hand((held) => task(held).then(resolve, reject)));
    },
  };
}
