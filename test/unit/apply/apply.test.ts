import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyChanges, undoChanges, type ApplyOptions } from '../../../lib/apply/apply.js';
import type { RunOptions, RunResult, Runner } from '../../../lib/exec/run.js';
import { parseInterfaceAddress, parsePrefix } from '../../../lib/net/address.js';
import type { Change } from '../../../lib/plan/change.js';

const subject = { ifname: 'eth0', address: '192.0.2.10/24', table: 10000 };
const rule = (priority: number, kind: 'add-rule' | 'del-rule' = 'add-rule', oif = 'eth0'): Change => ({
  kind, subject, reason: 'test', rule: { family: 4, priority, oif, table: 10000, protocol: 201 },
});
const route6: Change = {
  kind: 'add-route', subject, reason: 'test',
  route: { family: 6, table: 10001, dst: parsePrefix('2001:db8::/64'), dev: 'eth0', metric: 1024, protocol: 201 },
};

/** A runner that records every call and fails batches whose input has a line matching `failOn`. */
function fakeRunner(failOn?: RegExp) {
  const calls: { argv: string[]; input?: string }[] = [];
  const run: Runner = async (argv: readonly string[], options: RunOptions = {}) => {
    calls.push({ argv: [...argv], ...(options.input !== undefined ? { input: options.input } : {}) });
    const lines = (options.input ?? '').split('\n').filter(Boolean);
    const bad = failOn && !argv.includes('-force') ? lines.findIndex((l) => failOn.test(l)) : -1;
    const single = failOn && !argv.includes('-batch') && failOn.test(argv.join(' '));
    const result: RunResult = {
      command: [...argv], exitCode: bad >= 0 || single ? 2 : 0, signal: null, stdout: '',
      stderr: bad >= 0 ? `RTNETLINK answers: File exists\nCommand failed -:${bad + 1}\n` : '', durationMs: 1,
    };
    return result;
  };
  return { run, calls };
}

let dirs: string[] = [];
afterEach(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); dirs = []; });
function options(run: Runner, extra: Partial<ApplyOptions> = {}): ApplyOptions & { printed: string[] } {
  const runDir = mkdtempSync(join(tmpdir(), 'mhr-apply-'));
  dirs.push(runDir);
  const printed: string[] = [];
  return { run, runDir, dryRun: false, out: (t) => printed.push(t), warn: () => {}, printed, ...extra };
}

describe('applyChanges', () => {
  it('runs consecutive changes of one family as one ip -batch', async () => {
    const { run, calls } = fakeRunner();
    const r = await applyChanges([rule(10000), rule(15000), route6], options(run));
    expect(r.error).toBeUndefined();
    expect(calls.map((c) => c.argv.join(' '))).toEqual(['ip -4 -batch -', 'ip -6 -batch -']);
    expect(calls[0]!.input).toBe('rule add pref 10000 oif eth0 lookup 10000 protocol 201\nrule add pref 15000 oif eth0 lookup 10000 protocol 201\n');
    expect(r.applied).toHaveLength(3);
  });

  it('stops at the failing line and reports what ran; the undo runs the inverses with -force', async () => {
    const { run, calls } = fakeRunner(/pref 20000/);
    const o = options(run);
    const r = await applyChanges([rule(10000), rule(15000), rule(20000), rule(30000)], o);
    expect(r.error?.message).toMatch(/Command failed -:3|exit code 2/);
    expect(r.applied.map((c) => (c.kind === 'add-rule' ? c.rule.priority : 0))).toEqual([10000, 15000]);
    expect(r.failed && 'rule' in r.failed ? r.failed.rule.priority : 0).toBe(20000);
    await undoChanges(r.applied, o);
    expect(calls.at(-1)!.argv.join(' ')).toBe('ip -4 -force -batch -');
    expect(calls.at(-1)!.input).toBe('rule del pref 15000 oif eth0 lookup 10000 protocol 201\nrule del pref 10000 oif eth0 lookup 10000 protocol 201\n');
  });

  it('runs names the batch tokenizer cannot carry (quotes, #) one argv at a time', async () => {
    const { run, calls } = fakeRunner();
    await applyChanges([rule(15000, 'add-rule', `we'ird#1`)], options(run));
    expect(calls.map((c) => c.argv)).toEqual([['ip', '-4', 'rule', 'add', 'pref', '15000', 'oif', `we'ird#1`, 'lookup', '10000', 'protocol', '201']]);
  });

  it('dry run prints every change with its reason and runs nothing', async () => {
    const { run, calls } = fakeRunner();
    const o = options(run, { dryRun: true });
    await applyChanges([rule(10000), route6], o);
    expect(calls).toEqual([]);
    expect(o.printed.join('')).toBe(
      'ip -4 rule add pref 10000 oif eth0 lookup 10000 protocol 201  # test\n' +
      'ip -6 route add 2001:db8::/64 dev eth0 table 10001 proto 201 metric 1024  # test\n',
    );
  });

  it('writes sysctls, saving the old value once, and restores and forgets them', async () => {
    const { run } = fakeRunner();
    const procSys = mkdtempSync(join(tmpdir(), 'mhr-proc-'));
    dirs.push(procSys);
    mkdirSync(join(procSys, 'net/ipv4/conf/eth0'), { recursive: true });
    writeFileSync(join(procSys, 'net/ipv4/conf/eth0/rp_filter'), '1\n');
    const o = options(run, { procSys });
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
    const { run, calls } = fakeRunner();
    const add: Change = { kind: 'add-address', ifname: 'eth0', address: parseInterfaceAddress('192.0.2.10/24'), noprefixroute: true, subject, reason: 'lease' };
    await applyChanges([add], options(run));
    expect(calls[0]!.input).toBe('address add 192.0.2.10/24 dev eth0 noprefixroute\n');
  });
});

describe('an IPv6 address it adds: duplicate address detection is waited for before routes from it', () => {
  const address = parseInterfaceAddress('2001:db8::10/128');
  const changes: Change[] = [
    { kind: 'add-address', subject, reason: 'test', ifname: 'eth0', address, noprefixroute: true },
    { ...route6, route: { ...(route6 as Extract<Change, { route: unknown }>).route, prefsrc: address.address } } as Change,
  ];
  /** Answers reads with the address in the given states, one per read (the last one repeats). */
  function dadRunner(states: ('tentative' | 'dadfailed' | 'usable' | 'absent')[]) {
    const calls: string[] = [];
    const run: Runner = async (argv, o: RunOptions = {}) => {
      const read = argv.includes('-json');
      calls.push(read ? `read ${o.input?.trim()}` : `${argv.join(' ')}: ${o.input?.trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' ')).join(', ')}`);
      const state = read ? (states.shift() ?? 'usable') : undefined;
      if (state && states.length === 0) states.push(state);
      const info = state === 'absent' ? [] : [{ family: 'inet6', local: '2001:db8::10', prefixlen: 128, scope: 'global', ...(state === 'usable' ? {} : { [state ?? 'x']: true }) }];
      const stdout = read ? `${JSON.stringify([{ ifindex: 2, ifname: 'eth0', flags: ['UP'], addr_info: info }])}\n` : '';
      return { command: [...argv], exitCode: 0, signal: null, stdout, stderr: '', durationMs: 1 };
    };
    return { run, calls };
  }

  it('the batch ends with the address; the rest follows once it is no longer tentative', async () => {
    const { run, calls } = dadRunner(['tentative', 'tentative', 'usable']);
    const r = await applyChanges(changes, options(run));
    expect(r.error).toBeUndefined();
    expect(calls).toEqual([
      'ip -6 -batch -: address add',
      'read addr show',
      'read addr show',
      'read addr show',
      'ip -6 -batch -: route add',
    ]);
    expect(r.applied).toHaveLength(2);
  });

  for (const [state, why] of [
    ['dadfailed', /duplicate address detection failed/],
    ['absent', /gone while duplicate address detection ran/],
    ['tentative', /still tentative after 60 ms/],
  ] as const) {
    it(`${state}: stops there (the address is applied, so the undo removes it); no route is added`, async () => {
      const { run, calls } = dadRunner([state]);
      const r = await applyChanges(changes, options(run, { dadTimeoutMs: 60 }));
      expect(r.error?.message).toMatch(why);
      expect(r.failed).toBe(changes[0]);
      expect(r.applied).toEqual([changes[0]]);
      expect(calls.filter((c) => c.includes('route add'))).toEqual([]);
    });
  }

  it('a dry run prints the same changes and waits for nothing', async () => {
    const { run, calls } = dadRunner(['tentative']);
    const o = options(run, { dryRun: true });
    await applyChanges(changes, o);
    expect(calls).toEqual([]);
    expect(o.printed).toHaveLength(2);
  });
});
