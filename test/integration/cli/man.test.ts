import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The manual page as the executable prints it, through the real groff: its
// text is checked against the sources in test/unit/cli/man.test.ts; this
// checks that troff reads it without a warning and that it fits a terminal.
const exe = path.resolve(import.meta.dirname, '../../../dist/multihomed-routing');

describe('manual page', () => {
  const page = execFileSync(exe, ['help', 'man'], { encoding: 'utf8' });

  it('renders without a warning (groff -ww) and fits 80 columns', () => {
    const lint = spawnSync('groff', ['-ww', '-z', '-man'], { input: page, encoding: 'utf8' });
    expect(lint.stderr).toBe('');
    expect(lint.status).toBe(0);
    const text = execFileSync('groff', ['-man', '-Tutf8', '-rLL=78n', '-P-c', '-P-b', '-P-u'], { input: page, encoding: 'utf8' });
    expect(text).toContain('multihomed-routing doctor --json');
    // Only the verbatim usage lines of a few commands may run longer.
    const long = text.split('\n').filter((l) => l.length > 80 && !/^\s+multihomed-routing |^\s+prints the table/.test(l));
    expect(long).toEqual([]);
  });
});
