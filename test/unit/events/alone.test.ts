import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { attribute, dropAloneNote, NOTE_TTL_MS, noteWorkedAlone, readAloneNotes, spentNotes, type AloneNote } from '../../../lib/events/alone.js';
import { parseSeen, readLastSeen, seenText, writeLastSeen } from '../../../lib/events/last-seen.js';
import type { Managed, Snapshot } from '../../../lib/events/observe.js';

const dirs: string[] = [];
const runDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mhr-alone-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const configured = { type: 'address-configured' as const, iface: 'eth1', family: 4 as const, address: '10.1.0.2', table: 10001, rank: 1, reason: 'routed through table 10001' };
const removed = { type: 'address-removed' as const, iface: 'eth0', family: 4 as const, address: '10.0.0.2', table: 10000, reason: 'table 10000 and its rules removed' };
const band = { type: 'uplink-changed' as const, iface: 'eth1', family: 4 as const, reason: 'unbound IPv4 traffic now via eth1 (was eth0)' };
const note = (started: number, done?: number): AloneNote => ({ hook: 'ifupdown', why: 'no daemon is running', started, ...(done !== undefined ? { done } : {}) });

describe('notes of hooks that worked alone', () => {
  test('written per interface, read back, dropped', () => {
    const d = runDir();
    noteWorkedAlone(d, ['eth1', 'eth1', 'wwan0'], note(5));
    noteWorkedAlone(d, ['eth1'], note(5, 9));
    expect([...readAloneNotes(d)]).toEqual([['eth1', note(5, 9)], ['wwan0', note(5)]]);
    dropAloneNote(d, 'eth1');
    expect([...readAloneNotes(d).keys()]).toEqual(['wwan0']);
  });
  test('a damaged note, or one under a name no interface has, is dropped; a run_dir that cannot be written harms nobody', () => {
    const d = runDir();
    mkdirSync(join(d, 'events/alone'), { recursive: true });
    writeFileSync(join(d, 'events/alone/eth0.json'), '{"hook":1}');
    writeFileSync(join(d, 'events/alone/a b.json'), JSON.stringify(note(1)));
    expect(readAloneNotes(d).size).toBe(0);
    expect(readdirSync(join(d, 'events/alone'))).toEqual([]);
    writeFileSync(join(d, 'events/x'), '');
    expect(() => noteWorkedAlone(join(d, 'events/x'), ['eth0'], note(1))).not.toThrow();
  });
  test('the hook is named in the reason of its interface\'s address events; not in the band\'s', () => {
    const out = attribute([configured, band, removed], new Map([['eth1', note(100, 200)]]), 300, false);
    expect(out.map((e) => e.reason)).toEqual([
      'routed through table 10001 by the ifupdown hook working alone (no daemon is running)',
      'unbound IPv4 traffic now via eth1 (was eth0)',
      'table 10000 and its rules removed',
    ]);
    const degraded = { type: 'address-degraded' as const, iface: 'eth0', family: 4 as const, address: '10.0.0.2', reason: 'no table lease: the address uses main\'s routes until one is free' };
    const adopted = { ...configured, type: 'address-adopted' as const, reason: 'no hook reported the address: the daemon adopted it' };
    const hooked = new Map([['eth0', note(100, 200)], ['eth1', note(100, 200)]]);
    expect(attribute([degraded, removed, adopted], hooked, 300, true).map((e) => e.reason)).toEqual([
      'no table lease: the address uses main\'s routes until one is free (set by the ifupdown hook working alone: no daemon is running)',
      'table 10000 and its rules removed by the ifupdown hook working alone (no daemon is running)',
      'the ifupdown hook working alone (no daemon is running) left the address without a table: the daemon adopted it',
    ]);
  });
  test('at the daemon\'s start, a change without a note was found then; a note of a hook that started after the read explains nothing', () => {
    const adopted = { ...configured, type: 'address-adopted' as const, reason: 'no hook reported the address: the daemon adopted it' };
    const out = attribute([configured, removed, adopted, band], new Map([['eth1', note(400)]]), 300, true);
    expect(out.map((e) => e.reason)).toEqual(['routed through table 10001 (found when the daemon started)', 'table 10000 and its rules removed (found when the daemon started)', adopted.reason, band.reason]);
  });
  test('spent: jobs done before the read, hooks dead for a minute; a job still running keeps its note', () => {
    const notes = new Map([['a', note(100, 200)], ['b', note(100, 400)], ['c', note(250)], ['d', note(300 - NOTE_TTL_MS - 1)]]);
    expect(spentNotes(notes, 300)).toEqual(['a', 'd']);
  });
});

describe('what the last daemon saw', () => {
  const m = (ifname: string, address: string, table: number, rank?: number): Managed => ({ family: 4, ifname, address, table, ...(rank !== undefined ? { rank } : {}), up: true });
  const snap: Snapshot = {
    managed: new Map([['4|eth0|10.0.0.2', m('eth0', '10.0.0.2', 10000, 0)], ['4|eth1|10.1.0.2', m('eth1', '10.1.0.2', 10001)]]),
    degraded: new Map([['4|10.2.0.2', undefined], ['6|2001:db8::2', 'eth2']]),
    top: new Map([[4, '4|eth0|10.0.0.2']]),
  };
  test('stored and read back as it was', () => {
    const d = runDir();
    expect(readLastSeen(d)).toBe('none');
    writeLastSeen(d, seenText(snap));
    expect(readLastSeen(d)).toEqual(snap);
  });
  test('anything else is damaged', () => {
    for (const bad of ['', '{', '[]', '{"version":2,"managed":[],"degraded":[],"top":[]}', '{"version":1,"managed":[{"family":5}],"degraded":[],"top":[]}', '{"version":1,"managed":[],"degraded":[],"top":[[4,"4|eth9|10.9.0.2"]]}']) {
      expect(parseSeen(bad), bad).toBeUndefined();
    }
    const d = runDir();
    mkdirSync(join(d, 'events'));
    writeFileSync(join(d, 'events/seen.json'), '{"version":1');
    expect(readLastSeen(d)).toBe('damaged');
  });
});
