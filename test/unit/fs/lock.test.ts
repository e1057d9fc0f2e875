import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tmp from 'tmp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileIfExists, writeFileAtomic } from '../../../lib/fs/atomic.js';
import { takeLockFile, withLockFile } from '../../../lib/fs/lock.js';

let dir: tmp.DirResult;
beforeEach(() => {
  dir = tmp.dirSync({ unsafeCleanup: true });
});
afterEach(() => dir.removeCallback());

describe('lock files', () => {
  it('serialises read-modify-write between concurrent holders', async () => {
    const file = join(dir.name, 'counter');
    writeFileAtomic(file, '0');
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withLockFile(file, async () => {
          const n = Number(readFileIfExists(file));
          await new Promise((r) => setTimeout(r, 1));
          writeFileAtomic(file, String(n + 1));
        }),
      ),
    );
    expect(readFileIfExists(file)).toBe('20');
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('takes over a lock whose holder is dead', async () => {
    const lock = join(dir.name, 'routing.lock');
    writeFileSync(lock, '2147483646\n'); // no such pid
    const release = await takeLockFile(lock, 500);
    expect(readFileIfExists(lock)).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(lock)).toBe(false);
  });

  it('gives up after the timeout, naming the holder', async () => {
    const lock = join(dir.name, 'busy.lock');
    writeFileSync(lock, `${process.pid}\n`); // alive: us
    await expect(takeLockFile(lock, 50)).rejects.toThrow(`waiting for ${lock} (held by pid ${process.pid})`);
  });
});

describe('atomic writes', () => {
  it('replace the whole file and leave no temp file', () => {
    const file = join(dir.name, 'sub', 'f.conf');
    writeFileAtomic(file, 'one\n');
    writeFileAtomic(file, 'two\n', 0o600);
    expect(readFileIfExists(file)).toBe('two\n');
    expect(readFileIfExists(join(dir.name, 'missing'))).toBeUndefined();
  });
});
