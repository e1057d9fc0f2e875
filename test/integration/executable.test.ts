import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tmp from 'tmp';
import { describe, expect, it } from 'vitest';

// Runs what ships: the standalone executable `npm run build` made.
const root = path.resolve(import.meta.dirname, '../..');
const exe = path.join(root, 'dist/multihomed-routing');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('the standalone executable', () => {
  it('runs where no node exists: node hidden in a private mount namespace, empty PATH', () => {
    // Bind /dev/null over the node binary so neither PATH nor an absolute
    // path could reach it; the executable must carry its own runtime.
    const script = `mount --bind /dev/null "$(command -v node)" && ! node --version 2>/dev/null && PATH=/nonexistent "$0" --version`;
    const out = execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, exe], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe(`multihomed-routing ${pkg.version}`);
  });

  it('--version matches package.json', () => {
    expect(execFileSync(exe, ['--version'], { encoding: 'utf8' })).toBe(`multihomed-routing ${pkg.version}\n`);
  });

  it('--help lists the commands on stdout and exits 0', () => {
    const r = spawnSync(exe, ['--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: multihomed-routing/);
    expect(r.stdout).toMatch(/^ {2}config$/m);
  });

  it('an unknown command exits 2 with the usage on stderr', () => {
    const r = spawnSync(exe, ['frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toContain('usage: multihomed-routing');
  });

  it('no command at all exits 2', () => {
    expect(spawnSync(exe, [], { encoding: 'utf8' }).status).toBe(2);
  });

  it('a bad config is refused with file, line, key, expected and found', () => {
    const file = tmp.fileSync({ postfix: '.conf' });
    try {
      writeFileSync(file.name, 'lease_time = 10\ntable_range = 9-3\n');
      const r = spawnSync(exe, ['--config', file.name, 'config', 'check'], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`${file.name}:2: table_range: expected FIRST-LAST`);
      expect(r.stderr).toContain('found "9-3"');
    } finally {
      file.removeCallback();
    }
  });
});
