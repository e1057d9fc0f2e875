// Lock files for read-modify-write between processes: hooks for many
// interfaces run at once (dhclient for IPv4 and IPv6, 64 concurrent ifups).
// The holder's pid is inside; a lock whose holder is dead is taken over.
// Synchronous file calls, for the same reason as ./atomic.ts.

import { closeSync, constants, mkdirSync, openSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { readFileIfExists } from './atomic.js';
import { isRunning } from '../proc/alive.js';

function statMtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the lock file `lock` (waits up to timeoutMs) and returns the function
 * that releases it.
 */
export async function takeLockFile(lock: string, timeoutMs = 10_000): Promise<() => void> {
  mkdirSync(dirname(lock), { recursive: true, mode: 0o755 });
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    try {
      const fd = openSync(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileIfExists(lock)?.trim());
      const stale =
        Number.isInteger(holder) && holder > 0
          ? !isRunning(holder)
          : Date.now() - (statMtime(lock) ?? Date.now()) > 2000; // a holder that died before writing its pid
      if (stale) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${lock} (held by pid ${holder || 'unknown'})`);
      }
      await sleep(delay);
    }
  }
  return () => {
    try {
      unlinkSync(lock);
    } catch {
      // already taken over as stale: nothing to release
    }
  };
}

/** Runs `fn` holding `${path}.lock`. */
export async function withLockFile<T>(path: string, fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const release = await takeLockFile(`${path}.lock`, timeoutMs);
  try {
    return await fn();
  } finally {
    release();
  }
}
