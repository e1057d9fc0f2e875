// Which processes the daemon accepts a hand-over from: the shim's reader,
// under timeout(1), under the hook's root shell (dhclient-script, or the
// if-up.d / if-post-down.d hook). Made-up /proc values; readProc against
// this very test process.

import { describe, expect, it } from 'vitest';
import { readEnviron, readProc, refuseHookChain, type ProcInfo } from '../../../lib/proc/hook-process.js';

const proc = (pid: number, exe: string, argv: string[], uid = 0, ppid = pid - 1): ProcInfo => ({ pid, ppid, uids: [uid, uid, uid, uid], exe, argv });
const reader = (over: Partial<ProcInfo> = {}) => ({ ...proc(30, '/usr/bin/dash', ['sh', '-c', 'f=$1/reply.$$ …', 'mhr-handover', '/run/multihomed-routing/hook', 'dhclient-hook']), ...over });
const timeout = proc(29, '/usr/bin/timeout', ['timeout', '-k', '1', '10', 'sh', '-c', '…']);
const script = proc(28, '/usr/bin/dash', ['/bin/sh', '/sbin/dhclient-script']);
const ifup = proc(28, '/usr/bin/dash', ['/bin/sh', '/etc/network/if-up.d/multihomed-routing']);

describe('refuseHookChain', () => {
  it('accepts dhclient-script → timeout → the reader, and the if-up.d / if-post-down.d hook the same way', () => {
    expect(refuseHookChain('dhclient-hook', [reader(), timeout, script])).toBeUndefined();
    expect(refuseHookChain('dhclient-hook', [reader(), timeout, proc(28, '/bin/bash', ['bash', '/tmp/x/dhclient-script'])])).toBeUndefined();
    expect(refuseHookChain('ifupdown', [reader(), timeout, ifup])).toBeUndefined();
    expect(refuseHookChain('ifupdown', [reader(), timeout, proc(28, '/bin/dash', ['/bin/sh', '/etc/network/if-post-down.d/multihomed-routing'])])).toBeUndefined();
  });

  it.each<[string, (ProcInfo | undefined)[], RegExp]>([
    ['a process that is gone', [undefined, undefined, undefined], /gone/],
    ['a reader that is not root', [reader({ uids: [0, 0, 65534, 0] }), timeout, script], /not the shim's hand-over reader/],
    ['not a shell', [reader({ exe: '/usr/bin/python3' }), timeout, script], /not the shim's hand-over reader/],
    ['a shell that is not the reader', [reader({ argv: ['sh', '-c', 'x', 'other'] }), timeout, script], /not the shim's hand-over reader/],
    ['a reader not under timeout', [reader(), proc(29, '/usr/bin/dash', ['sh']), script], /not timeout/],
    ['the hook gone', [reader(), timeout, undefined], /gone or not a root shell/],
    ['the hook not root', [reader(), timeout, proc(28, '/usr/bin/dash', ['/bin/sh', '/sbin/dhclient-script'], 1000)], /gone or not a root shell/],
    ['another script', [reader(), timeout, proc(28, '/usr/bin/dash', ['/bin/sh', '/usr/local/bin/evil'])], /is not a dhclient-script/],
    ['a file named dhclient-script-x', [reader(), timeout, proc(28, '/usr/bin/dash', ['/bin/sh', '/tmp/dhclient-script-x'])], /is not a dhclient-script/],
  ])('refuses %s', (_name, chain, why) => expect(refuseHookChain('dhclient-hook', chain)).toMatch(why));

  it('a dhclient-script does not pass for the ifupdown hook, nor the other way round', () => {
    expect(refuseHookChain('ifupdown', [reader(), timeout, script])).toMatch(/not a if-up.d\/if-post-down.d hook/);
    expect(refuseHookChain('dhclient-hook', [reader(), timeout, ifup])).toMatch(/not a dhclient-script/);
    expect(refuseHookChain('ifupdown', [reader(), timeout, proc(28, '/usr/bin/dash', ['/bin/sh', '/tmp/if-up.d/other'])])).toMatch(/not a if-up/);
  });
});

describe('/proc', () => {
  it('reads this process: its parent, uids, exe and argv', () => {
    const me = readProc(process.pid)!;
    expect(me).toMatchObject({ pid: process.pid, ppid: process.ppid, exe: process.execPath });
    expect(me.uids).toHaveLength(4);
    expect(me.argv[0]).toBe(process.argv0);
  });

  it('a PID that does not exist reads as gone', () => expect(readProc(2 ** 22 + 1)).toBeUndefined());

  it('the environment as the process started with it, and a size limit', () => {
    expect(readEnviron(process.pid, 1 << 20).PATH).toBe(process.env.PATH);
    expect(() => readEnviron(process.pid, 10)).toThrow(/more than 10/);
  });
});
