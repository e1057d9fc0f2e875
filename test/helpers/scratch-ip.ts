// A scratch namespace with one veth (d0 10.77.0.2/24 ↔ d1) for tests of the
// ip channel (lib/exec/ip-channel.ts).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';

/** Creates the namespace before the file's tests and deletes it after; returns its name and an `ip -n NS` helper. */
export function scratchNamespace(prefix: string): { ns: string; ip: (...args: string[]) => string } {
  const ns = `${prefix}-${process.pid}`;
  const ip = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    ip('link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
    ip('link', 'set', 'd1', 'up');
    ip('link', 'set', 'd0', 'up');
    ip('address', 'add', '10.77.0.2/24', 'dev', 'd0');
  });
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', ns]);
  });
  return { ns, ip };
}
