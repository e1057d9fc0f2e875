// A one-shot timeout for the hook's exchange with the daemon, on the path
// of every hook. The runtime's first setTimeout in a process costs
// 0.3–0.5 ms and its first clearTimeout ~0.1 ms: the timers code is
// compiled on first use (plain node 20, fresh process; the second call
// costs 0.02 ms). Atomics.waitAsync with a timeout is the engine's own
// timer (V8 posts a delayed task, which Node runs from a libuv timer):
// ~0.04 ms. Like an unreferenced timer it keeps no process alive by
// itself; the exchange's socket, being read, does.

export interface Deadline {
  /** Stops it; only the first call does anything. */
  cancel(): void;
}

type WaitAsync = (cell: Int32Array, index: number, value: number, timeoutMs: number) => { async: boolean; value: Promise<string> | string };

/** Calls onExpire once, `ms` from now, unless cancelled first. */
export function deadline(ms: number, onExpire: () => void, o: { engineTimer?: boolean } = {}): Deadline {
  const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const r = o.engineTimer !== false && typeof waitAsync === 'function' ? waitAsync(cell, 0, 0, ms) : undefined;
  // A timeout of 0 settles at once (not async): the runtime's timer then.
  if (r?.async) {
    let live = true;
    void (r.value as Promise<string>).then((outcome) => {
      if (live && outcome === 'timed-out') {
        live = false;
        onExpire();
      }
    });
    return {
      cancel() {
        if (!live) return;
        live = false;
        Atomics.notify(cell, 0);
      },
    };
  }
  const timer = setTimeout(onExpire, ms);
  return { cancel: () => clearTimeout(timer) };
}
