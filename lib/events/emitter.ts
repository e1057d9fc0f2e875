// The daemon's one emitter: every event goes through it, it keeps the recent
// ones (a ring of `keep`, for `events` without --follow) and hands each to
// its subscribers (the event scripts, followers on the socket). A subscriber
// that throws is dropped from nothing and harms nobody else.

import type { MhrEvent } from './event.js';

export type EventListener = (e: MhrEvent) => void;

export interface EventEmitter {
  emit(e: Omit<MhrEvent, 'time'> & { time?: number }): void;
  /** Oldest first. */
  recent(): MhrEvent[];
  /** Returns the unsubscribe. */
  subscribe(listener: EventListener): () => void;
  /** Events emitted since the start (metrics). */
  readonly emitted: number;
}

export function createEmitter(keep = 256, now: () => number = Date.now): EventEmitter {
  const ring: MhrEvent[] = [];
  let head = 0;
  let emitted = 0;
  const listeners = new Set<EventListener>();
  return {
    emit(partial) {
      const e: MhrEvent = { ...partial, time: partial.time ?? now() } as MhrEvent;
      if (ring.length < keep) ring.push(e);
      else {
        ring[head] = e;
        head = (head + 1) % keep;
      }
      emitted++;
      for (const l of [...listeners]) {
        try {
          l(e);
        } catch {
          // A listener's fault is its own (the scripts and followers catch theirs).
        }
      }
    },
    recent: () => [...ring.slice(head), ...ring.slice(0, head)],
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    get emitted() {
      return emitted;
    },
  };
}
