// Which processes the daemon accepts a hand-over from: a root bash holding
// open the slot the request names, that is the if-up.d / if-post-down.d hook
// itself, or the dhclient shim's `bash -c` under a root dhclient-script.
// Made-up /proc values; readProc and readOpenFiles against this very process;
// readEnviron also against a real bash while it imports its environment.

import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEnviron, readOpenFiles, readProc, refuseHookChain, wholeEnviron, type ProcInfo } from '../../../lib/proc/hook-process.js';

const SLOT = '/run/multihomed-routing/hook/slot.3';
const FILES = ['/dev/null', 'pipe:[123]', SLOT];
const proc = (pid: number, exe: string, argv: string[], uid = 0, ppid = pid - 1): ProcInfo => ({ pid, ppid, uids: [uid, uid, uid, uid], exe, argv });
const shimWaiter = (over: Partial<ProcInfo> = {}) => ({ ...proc(29, '/usr/bin/bash', ['/bin/bash', '-p', '-c', 'mhr_handover_wait() {…}', 'mhr', '/run/multihomed-routing/hook']), ...over });
const script = proc(28, '/usr/bin/dash', ['/bin/sh', '/sbin/dhclient-script']);
const ifup = (over: Partial<ProcInfo> = {}) => ({ ...proc(29, '/usr/bin/bash', ['/bin/bash', '-p', '/etc/network/if-up.d/multihomed-routing']), ...over });

describe('refuseHookChain', () => {
  it('accepts the shim\'s bash under dhclient-script, and the if-up.d / if-post-down.d hook itself, each holding SLOT', () => {
    expect(refuseHookChain('dhclient-hook', SLOT, shimWaiter(), FILES, script)).toBeUndefined();
    expect(refuseHookChain('dhclient-hook', SLOT, shimWaiter(), FILES, proc(28, '/bin/bash', ['bash', '/tmp/x/dhclient-script']))).toBeUndefined();
    expect(refuseHookChain('ifupdown', SLOT, ifup(), FILES, undefined)).toBeUndefined();
    expect(refuseHookChain('ifupdown', SLOT, ifup({ argv: ['/bin/bash', '-p', '/etc/network/if-post-down.d/multihomed-routing'] }), FILES, undefined)).toBeUndefined();
  });

  it.each<[string, ProcInfo | undefined, string[], ProcInfo | undefined, RegExp]>([
    ['a process that is gone', undefined, [], undefined, /gone/],
    ['a waiter that is not root', shimWaiter({ uids: [0, 0, 65534, 0] }), FILES, script, /not a hook's bash/],
    ['not bash', shimWaiter({ exe: '/usr/bin/dash' }), FILES, script, /not a hook's bash/],
    ['bash not holding the slot', shimWaiter(), ['/dev/null'], script, /not a hook's bash waiting on \/run\/multihomed-routing\/hook\/slot\.3 /],
    ['bash holding another slot', shimWaiter(), [`${SLOT}1`, '/run/multihomed-routing/hook/slot.4'], script, /waiting on \/run\/multihomed-routing\/hook\/slot\.3 /],
    ['the parent gone', shimWaiter(), FILES, undefined, /gone or not a root shell/],
    ['the parent not root', shimWaiter(), FILES, proc(28, '/usr/bin/dash', ['/bin/sh', '/sbin/dhclient-script'], 1000), /gone or not a root shell/],
    ['the parent not a shell', shimWaiter(), FILES, proc(28, '/usr/bin/python3', ['python3', '/sbin/dhclient-script']), /gone or not a root shell/],
    ['another script', shimWaiter(), FILES, proc(28, '/usr/bin/dash', ['/bin/sh', '/usr/local/bin/evil']), /is not a dhclient-script/],
    ['a file named dhclient-script-x', shimWaiter(), FILES, proc(28, '/usr/bin/dash', ['/bin/sh', '/tmp/dhclient-script-x']), /is not a dhclient-script/],
  ])('refuses %s', (_name, waiter, files, parent, why) => expect(refuseHookChain('dhclient-hook', SLOT, waiter, files, parent)).toMatch(why));

  it('a dhclient-script does not pass for the ifupdown hook, nor the other way round', () => {
    // The shim's bash is no if-up.d hook, whatever its parent.
    expect(refuseHookChain('ifupdown', SLOT, shimWaiter(), FILES, ifup())).toMatch(/not a if-up.d\/if-post-down.d hook/);
    expect(refuseHookChain('dhclient-hook', SLOT, ifup(), FILES, ifup({ pid: 28 }))).toMatch(/not a dhclient-script/);
    expect(refuseHookChain('ifupdown', SLOT, ifup({ argv: ['/bin/bash', '-p', '/tmp/if-up.d/other'] }), FILES, undefined)).toMatch(/not a if-up/);
  });
});

describe('/proc', () => {
  it('reads this process: its parent, uids, exe and argv', () => {
    const me = readProc(process.pid)!;
    expect(me).toMatchObject({ pid: process.pid, ppid: process.ppid, exe: process.execPath });
    expect(me.uids).toHaveLength(4);
    expect(me.argv[0]).toBe(process.argv0);
  });

  it('a PID that does not exist reads as gone', () => {
    expect(readProc(2 ** 22 + 1)).toBeUndefined();
    expect(readOpenFiles(2 ** 22 + 1)).toEqual([]);
  });

  it('the files this process holds open, by path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mhr-open-files-'));
    const fd = openSync(join(dir, 'slot.3'), 'w');
    try {
      expect(readOpenFiles(process.pid)).toContain(join(dir, 'slot.3'));
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
    expect(readOpenFiles(process.pid)).not.toContain(join(dir, 'slot.3'));
  });

  it('the environment as the process started with it, and a size limit', () => {
    expect(readEnviron(process.pid, 1 << 20)?.PATH).toBe(process.env.PATH);
    expect(() => readEnviron(process.pid, 10)).toThrow(/more than 10/);
  });
});

describe('readEnviron and wholeEnviron: never an environment with a variable missing', () => {
  /** A made-up /proc with one process whose environ holds `text`. */
  function fakeProc(text: string) {
    const root = mkdtempSync(join(tmpdir(), 'mhr-environ-'));
    mkdirSync(join(root, '42'));
    const write = (t: string) => writeFileSync(join(root, '42', 'environ'), t);
    write(text);
    return { root, write, [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }) };
  }
  const WHOLE = 'reason=BOUND\0interface=eth0\0new_ip_address=10.1.0.2\0';
  // What bash shows while it imports new_ip_address: a NUL over its `=`.
  const IMPORTING = 'reason=BOUND\0interface=eth0\0new_ip_address\x0010.1.0.2\0';

  it('NAME=VALUE entries; an entry with an empty name is dropped; none at all, or one without `=`, is not whole', () => {
    using p = fakeProc(`${WHOLE}=odd\0`);
    expect(readEnviron(42, 1 << 20, p.root)).toEqual({ reason: 'BOUND', interface: 'eth0', new_ip_address: '10.1.0.2' });
    p.write(IMPORTING);
    expect(readEnviron(42, 1 << 20, p.root)).toBeUndefined();
    p.write('');
    expect(readEnviron(42, 1 << 20, p.root)).toBeUndefined();
  });

  it('wholeEnviron reads again until the environment is whole, and gives up at its deadline', async () => {
    using p = fakeProc(IMPORTING);
    setTimeout(() => p.write(WHOLE), 20);
    expect(await wholeEnviron(42, 1 << 20, Date.now() + 2_000, p.root)).toEqual({ reason: 'BOUND', interface: 'eth0', new_ip_address: '10.1.0.2' });
    p.write(IMPORTING);
    const started = Date.now();
    expect(await wholeEnviron(42, 1 << 20, started + 50, p.root)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('a real bash importing 30,000 variables: reads in the middle are not whole, every accepted one has them all', async () => {
    const env: Record<string, string> = { PATH: '/usr/bin:/bin' };
    for (let i = 0; i < 30_000; i++) env[`v${i}`] = `value ${i}`;
    const count = Object.keys(env).length;
    const start = () => spawn('/bin/bash', ['-p', '-c', 'read -r _'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
    let notWhole = 0;
    let accepted = 0;
    // bash hides one entry at a time while it starts; a few starts catch it doing so.
    for (let run = 0; run < 10 && notWhole === 0; run++) {
      const bash = start();
      try {
        for (const started = Date.now(); Date.now() - started < 300; ) {
          const e = readEnviron(bash.pid!, 8 << 20);
          if (!e) notWhole++;
          else if (e.v0 !== undefined) {
            accepted++;
            expect(Object.keys(e).length).toBe(count);
            expect(e.v29999).toBe('value 29999');
          }
        }
      } finally {
        bash.stdin.end('\n');
      }
    }
    expect(notWhole).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
    const bash = start();
    try {
      const e = await wholeEnviron(bash.pid!, 8 << 20, Date.now() + 5_000);
      expect(e && Object.keys(e).length).toBe(count);
    } finally {
      bash.stdin.end('\n');
    }
  }, 60_000);
});
