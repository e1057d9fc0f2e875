import { describe, expect, it } from 'vitest';
import { stderrIsJournal } from '../../../lib/log/journal.js';

const stderrAt = (dev: number, ino: number) => () => ({ dev, ino });

describe('stderrIsJournal', () => {
  it.each([
    ['JOURNAL_STREAM names fd 2', '64769:2345', stderrAt(64769, 2345), true],
    ['fd 2 is another stream (redirected by a parent)', '64769:2345', stderrAt(64769, 2346), false],
    ['no JOURNAL_STREAM', undefined, stderrAt(64769, 2345), false],
    ['a malformed value', '64769-2345', stderrAt(64769, 2345), false],
    ['fd 2 closed', '64769:2345', () => { throw new Error('EBADF'); }, false],
  ])('%s', (_, value, stat, expected) => {
    expect(stderrIsJournal(value === undefined ? {} : { JOURNAL_STREAM: value }, stat)).toBe(expected);
  });
});
