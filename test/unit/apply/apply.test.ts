import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyChanges, undoChanges, type ApplyOptions } from '../../../lib/apply/apply.js';
import type { IpChannel } from '../../../lib/exec/ip-channel.js';
import { CommandError } from '../../../lib/exec/run.js';
import { parseInterfaceAddress, parsePrefix, type Family } from '../../../lib/net/address.js';
import type { Change } from '../../../lib/plan/change.js';

const subject = { ifname: 'eth0', address: '192.0.2.10/24', table: 10000 };
const rule = (priority: number, kind: 'add-rule' | 'del-rule' = 'add-rule', oif = 'eth0'): Change => ({
  kind, subject, reason: 'test', rule: { family: 4, priority, oif, table: 10000, protocol: 201 },
});
const route6: Change = {
  kind: 'add-route', subject, reason: 'test',
  route: { family: 6, table: 10001, dst: parsePrefix('2001:db8::/64'), dev: 'eth0', metric: 1024, protocol: 201 },
};

/** An ip channel that records every batch and fails one at the first line matching `failOn` (unless forced). */
function fakeChannel(failOn?: RegExp) {
  const calls: { family: Family; lines: string[]; force: boolean }[] = [];
  const ip: IpChannel = {
    read: () => Promise.reject(new Error('no reads here')),
    async apply(family, commands, o = {}) {
      const lines = commands.map((c) => c.join(' '));
      calls.push({ family, lines, force: o.force ?? false });
      const bad = failOn && !o.force ? lines.findIndex((l) => failOn.test(l)) : -1;
      if (bad < 0) return { ran: lines.length };
      const result = { command: ['ip', `-${family}`, '-batch', '-'], exitCode: 2, signal: null, stdout: '', stderr: `RTNETLINK answers: File exists\nCommand failed -:${bad + 1}\n`, durationMs: 1 };
      return { ran: bad, error: new CommandError(result) };
    },
    close: () => {},
  };
  return { ip, calls };
}

let dirs: string[] = [];
afterEach(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); dirs = []; });
function options(ip: IpChannel, extra: Partial<ApplyOptions> = {}): ApplyOptions & { printed: string[] } {
  const runDir = mkdtempSync(join(tmpdir(), 'mhr-apply-'));
  dirs.push(runDir);
  const printed: string[] = [];
  return { ip, runDir, dryRun: false, out: (t) => printed.push(t), warn: () => {}, printed, ...extra };
}

describe('applyChanges', () => {
  it('sends consecutive changes of one family as one batch', async () => {
    const { ip, calls } = fakeChannel();
    const r = await applyChanges([rule(10000), rule(15000), route6], options(ip));
    expect(r.error).toBeUndefined();
    expect(calls).toEqual([
      { family: 4, force: false, lines: ['rule add pref 10000 oif eth0 lookup 10000 protocol 201', 'rule add pref 15000 oif eth0 lookup 10000 protocol 201'] },
      { family: 6, force: false, lines: ['route add 2001:db8::/64 dev eth0 table 10001 proto 201 metric 1024'] },
    ]);
    expect(r.applied).toHaveLength(3);
  });

  it('stops at the failing line and reports what ran; the undo sends the inverses, forced, newest first', async () => {
    const { ip, calls } = fakeChannel(/pref 20000/);
    const o = options(ip);
    const r = await applyChanges([rule(10000), rule(15000), rule(20000), rule(30000)], o);
    expect(r.error?.message).toMatch(/Command failed -:3/);
    expect(r.applied.map((c) => (c.kind === 'add-rule' ? c.rule.priority : 0))).toEqual([10000, 15000]);
    expect(r.failed && 'rule' in r.failed ? r.failed.rule.priority : 0).toBe(20000);
    await undoChanges(r.applied, o);
    expect(calls.at(-1)).toEqual({
      family: 4, force: true, lines: ['rule del pref 15000 oif eth0 lookup 10000 protocol 201', 'rule del pref 10000 oif eth0 lookup 10000 protocol 201'],
    });
  });

  it('dry run prints every change with its reason and runs nothing', async () => {
    const { ip, calls } = fakeChannel();
    const o = options(ip, { dryRun: true });
    await applyChanges([rule(10000), route6], o);
    expect(calls).toEqual([]);
    expect(o.printed.join('')).toBe(
      'ip -4 rule add pref 10000 oif eth0 lookup 10000 protocol 201  # test\n' +
      'ip -6 route add 2001:db8::/64 dev eth0 table 10001 proto 201 metric 1024  # test\n',
    );
  });

  it('writes sysctls, saving the old value once, and restores and forgets them', async () => {
    const { ip } = fakeChannel();
    const procSys = mkdtempSync(join(tmpdir(), 'mhr-proc-'));
    dirs.push(procSys);
    mkdirSync(join(procSys, 'net/ipv4/conf/eth0'), { recursive: true });
    writeFileSync(join(procSys, 'net/ipv4/conf/eth0/rp_filter'), '1\n');
    const o = options(ip, { procSys });
    const key = 'net/ipv4/conf/eth0/rp_filter';
    const set: Change = { kind: 'set-sysctl', key, ifname: 'eth0', value: '2', previous: '1', save: true, subject, reason: 'loose' };
    await applyChanges([set], o);
    expect(readFileSync(join(procSys, key), 'utf8')).toBe('2\n');
    const saved = join(o.runDir, 'sysctl', 'eth0.json');
    expect(JSON.parse(readFileSync(saved, 'utf8'))).toEqual({ [key]: '1' });
    await applyChanges([{ ...set, value: '1', previous: '2', save: false }, { kind: 'forget-sysctls', ifname: 'eth0', subject, reason: 'done' }], o);
    expect(readFileSync(join(procSys, key), 'utf8')).toBe('1\n');
    expect(existsSync(saved)).toBe(false);
  });

  it('address changes render with their options', async () => {
    const { ip, calls } = fakeChannel();
    const add: Change = { kind: 'add-address', ifname: 'eth0', address: parseInterfaceAddress('192.0.2.10/24'), noprefixroute: true, subject, reason: 'lease' };
    await applyChanges([add], options(ip));
    expect(calls[0]!.lines).toEqual(['address add 192.0.2.10/24 dev eth0 noprefixroute']);
  });
});

describe('an IPv6 address it adds: duplicate address detection is waited for before routes from it', () => {
  const address = parseInterfaceAddress('2001:db8::10/128');
  const changes: Change[] = [
    { kind: 'add-address', subject, reason: 'test', ifname: 'eth0', address, noprefixroute: true },
    { ...route6, route: { ...(route6 as Extract<Change, { route: unknown }>).route, prefsrc: address.address } } as Change,
  ];
  /** Answers reads with the address in the given states, one per read (the last one repeats). */
  function dadChannel(states: ('tentative' | 'dadfailed' | 'usable' | 'absent')[]) {
    const calls: string[] = [];
    const ip: IpChannel = {
      async read(family, tables) {
        calls.push(`read -${family} ${tables.join(' ')}`);
        const state = states.length > 1 ? states.shift()! : states[0] ?? 'usable';
        const info = state === 'absent' ? [] : [{ family: 'inet6', local: '2001:db8::10', prefixlen: 128, scope: 'global', ...(state === 'usable' ? {} : { [state]: true }) }];
        return { addresses: JSON.stringify([{ ifindex: 2, ifname: 'eth0', flags: ['UP'], addr_info: info }]) } as Record<(typeof tables)[number], string>;
      },
      async apply(family, commands) {
        calls.push(`apply -${family}: ${commands.map((c) => c.slice(0, 2).join(' ')).join(', ')}`);
        return { ran: commands.length };
      },
      close: () => {},
    };
    return { ip, calls };
  }

  it('the batch ends with the address; the rest follows once it is no longer tentative', async () => {
    const { ip, calls } = dadChannel(['tentative', 'tentative', 'usable']);
    const r = await applyChanges(changes, options(ip));
    expect(r.error).toBeUndefined();
    expect(calls).toEqual([
      'apply -6: address add',
      'read -6 addresses',
      'read -6 addresses',
      'read -6 addresses',
      'apply -6: route add',
    ]);
    expect(r.applied).toHaveLength(2);
  });

  for (const [state, why] of [
    ['dadfailed', /duplicate address detection failed/],
    ['absent', /gone while duplicate address detection ran/],
    ['tentative', /still tentative after 60 ms/],
  ] as const) {
    it(`${state}: stops there (the address is applied, so the undo removes it); no route is added`, async () => {
      const { ip, calls } = dadChannel([state]);
      const r = await applyChanges(changes, options(ip, { dadTimeoutMs: 60 }));
      expect(r.error?.message).toMatch(why);
      expect(r.failed).toBe(changes[0]);
      expect(r.applied).toEqual([changes[0]]);
      expect(calls.filter((c) => c.includes('route add'))).toEqual([]);
    });
  }

  it('a dry run prints the same changes and waits for nothing', async () => {
    const { ip, calls } = dadChannel(['tentative']);
    const o = options(ip, { dryRun: true });
    await applyChanges(changes, o);
    expect(calls).toEqual([]);
    expect(o.printed).toHaveLength(2);
  });
});
