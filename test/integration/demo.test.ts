// `multihomed-routing demo`, run as an operator would: the single executable
// (built by the global setup), as root. Green; with the udev handler left out
// (`--break udev`) it fails naming the unplugged-modem step; interrupted with
// Ctrl-C (SIGINT) mid-run. After each run nothing of it is left: network
// namespaces, processes (found by the MHR_DEMO_SANDBOX marker every program
// of the sandbox carries in its environment, forked daemons included),
// /etc/netns entries, temp dirs.

import fs from 'node:fs';
import os from 'node:os';
import { execa, execaSync, type ResultPromise } from 'execa';
import { describe, expect, it } from 'vitest';
import { EXE } from './routing-host.js';

function leftovers(pid: number): string[] {
  const prefix = `mhr-demo-${pid}-`;
  const left: string[] = [];
  const netns = String(execaSync('ip', ['netns', 'list']).stdout);
  left.push(...netns.split('\n').filter((l) => l.startsWith(prefix)).map((l) => `netns ${l}`));
  for (const dir of ['/etc/netns', os.tmpdir()]) {
    const entries = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    left.push(...entries.filter((e) => e.includes(`mhr-demo-${pid}`)).map((e) => `${dir}/${e}`));
  }
  for (const p of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (fs.readFileSync(`/proc/${p}/environ`, 'latin1').split('\0').includes(`MHR_DEMO_SANDBOX=mhr-demo-${pid}`)) left.push(`process ${p}`);
    } catch {
      // gone
    }
  }
  return left;
}

const demo = (args: string[] = []): ResultPromise => execa(EXE, ['demo', ...args], { reject: false, timeout: 90_000, stripFinalNewline: false });

/** The step headers printed (` 1. Title`), by number. */
const headers = (out: string) => new Map([...out.matchAll(/^ ?(\d+)\. (.+)$/gm)].map((m) => [Number(m[1]), m[2]!]));

describe('multihomed-routing demo', () => {
  it('runs green: every step printed with its checks, exit 0, its duration, nothing left', async () => {
    const child = demo();
    const r = await child;
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const steps = headers(String(r.stdout));
    expect([...steps.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(steps.get(9)).toMatch(/^Unplug the modem wwan1/);
    expect(r.stdout).not.toContain('✗');
    expect((String(r.stdout).match(/^ {4}✓ /gm) ?? []).length).toBeGreaterThan(30);
    // What an operator sees: our rules, a table, the failover, the handler's work.
    expect(r.stdout).toMatch(/^ {6}31000: from all lookup \d+ proto 201$/m);
    expect(r.stdout).toMatch(/default via 192\.168\.1\.1 dev eth0 proto 201 src 192\.168\.1\.10 dead linkdown/);
    expect(r.stdout).toMatch(/^ {6}dhclient of the removed interface: SIGTERM$/m);
    expect(r.stdout).toMatch(/✓ all 10 steps behaved, in (\d+\.\d) s\.\n$/);
    expect(Number(/in (\d+\.\d) s\.\n$/.exec(String(r.stdout))![1])).toBeLessThan(60);
    expect(String(r.stdout).split('\n').filter((l) => [...l].length > 80)).toEqual([]);
    expect(leftovers(child.pid!)).toEqual([]);
  }, 90_000);

  it('--break udev: the unplugged-modem step fails, named, exit 1; the sandbox is still removed', async () => {
    const child = demo(['--break', 'udev']);
    const r = await child;
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(1);
    const out = String(r.stdout);
    expect(out).toMatch(/✗ step 9 did not behave \(Unplug the modem wwan1: everything of it is cleaned\s+up\): wwan1's dhclient/);
    // Steps 1-8 behaved; the failures are in step 9 only; step 10 removed the sandbox.
    const step9 = out.indexOf('\n 9. ');
    expect(out.slice(0, step9)).not.toContain('✗');
    expect(out.slice(step9)).toMatch(/✗ wwan1's dhclient \(pid \d+\) stopped/);
    expect(out).toMatch(/✓ namespaces, processes, the host's \/etc and \/run, the temp dir: all gone/);
    expect(leftovers(child.pid!)).toEqual([]);
  }, 90_000);

  it('Ctrl-C (SIGINT) mid-run: removes the sandbox and exits 130', async () => {
    const child = demo();
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('\n 3. ')) resolve();
      });
      void child.then(() => resolve());
    });
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, `${out}\n${r.stderr}`).toBe(130);
    expect(r.stderr).toContain('SIGINT: removing the sandbox');
    expect(r.stderr).not.toContain('left behind');
    expect(leftovers(child.pid!)).toEqual([]);
  }, 90_000);
});
