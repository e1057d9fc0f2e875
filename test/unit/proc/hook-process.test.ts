// Which processes the daemon accepts a hand-over from: timeout(1) waiting on
// the slot the request names (`timeout -k 1 10 cat DIR/slot.K`), under the
// hook's root shell (dhclient-script, or the if-up.d / if-post-down.d hook).
// Made-up /proc values; readProc against this very test process.

import { describe, expect, it } from 'vitest';
import { readEnviron, readProc, refuseHookChain, type ProcInfo } from '../../../lib/proc/hook-process.js';

const SLOT = '/run/multihomed-routing/hook/slot.3';
const proc = (pid: number, exe: string, argv: string[], uid = 0, ppid = pid - 1): ProcInfo => ({ pid, ppid, uids: [uid, uid, uid, uid], exe, argv });
const waiter = (over: Partial<ProcInfo> = {}) => ({ ...proc(29, '/usr/bin/timeout', ['timeout', '-k', '1', '10', 'cat', SLOT]), ...over });
const script = proc(28, '/usr/bin/dash', ['/bin/sh', '/sbin/dhclient-script']);
const ifup = proc(28, '/usr/bin/dash', ['/bin/sh', '/etc/network/if-up.d/multihomed-routing']);

describe('refuseHookChain', () => {
  it('accepts dhclient-script → timeout … cat SLOT, and the if-up.d / if-post-down.d hook the same way', () => {
    expect(refuseHookChain('dhclient-hook', SLOT, [waiter(), script])).toBeUndefined();
    expect(refuseHookChain('dhclient-hook', SLOT, [waiter(), proc(28, '/bin/bash', ['bash', '/tmp/x/dhclient-script'])])).toBeUndefined();
    expect(refuseHookChain('ifupdown', SLOT, [waiter(), ifup])).toBeUndefined();
    expect(refuseHookChain('ifupdown', SLOT, [waiter(), proc(28, '/bin/dash', ['/bin/sh', '/etc/network/if-post-down.d/multihomed-routing'])])).toBeUndefined();
  });

  it.each<[string, (ProcInfo | undefined)[], RegExp]>([
    ['a process that is gone', [undefined, undefined], /gone/],
    ['a waiter that is not root', [waiter({ uids: [0, 0, 65534, 0] }), script], /not the hook's timeout/],
    ['not timeout', [waiter({ exe: '/usr/bin/dash' }), script], /not the hook's timeout/],
    ['timeout running something else', [waiter({ argv: ['timeout', '10', 'sh', SLOT] }), script], /not the hook's timeout/],
    ['timeout waiting on another slot', [waiter({ argv: ['timeout', '-k', '1', '10', 'cat', `${SLOT}1`] }), script], /timeout\(1\) waiting on \/run\/multihomed-routing\/hook\/slot\.3 /],
    ['the hook gone', [waiter(), undefined], /gone or not a root shell/],
    ['the hook not root', [waiter(), proc(28, '/usr/bin/dash', ['/bin/sh', '/sbin/dhclient-script'], 1000)], /gone or not a root shell/],
    ['another script', [waiter(), proc(28, '/usr/bin/dash', ['/bin/sh', '/usr/local/bin/evil'])], /is not a dhclient-script/],
    ['a file named dhclient-script-x', [waiter(), proc(28, '/usr/bin/dash', ['/bin/sh', '/tmp/dhclient-script-x'])], /is not a dhclient-script/],
  ])('refuses %s', (_name, chain, why) => expect(refuseHookChain('dhclient-hook', SLOT, chain)).toMatch(why));

  it('a dhclient-script does not pass for the ifupdown hook, nor the other way round', () => {
    expect(refuseHookChain('ifupdown', SLOT, [waiter(), script])).toMatch(/not a if-up.d\/if-post-down.d hook/);
    expect(refuseHookChain('dhclient-hook', SLOT, [waiter(), ifup])).toMatch(/not a dhclient-script/);
    expect(refuseHookChain('ifupdown', SLOT, [waiter(), proc(28, '/usr/bin/dash', ['/bin/sh', '/tmp/if-up.d/other'])])).toMatch(/not a if-up/);
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
