import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveConfig, stampOf } from '../../../lib/config/live.js';
import { loadConfig } from '../../../lib/config/load.js';

describe('the daemon\'s config, re-read on SIGHUP', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const setUp = (text: string) => {
    dir = mkdtempSync(join(tmpdir(), 'mhr-live-'));
    const path = join(dir, 'm.conf');
    writeFileSync(path, text);
    return { path, live: liveConfig(path, loadConfig(path)) };
  };

  it('a changed key is in use after reload, and the file\'s new stamp is accepted from hooks', () => {
    const { path, live } = setUp('interface_priority = eth0 eth1\n');
    expect(live.stamp()).toBe(stampOf(path));
    writeFileSync(path, 'interface_priority = eth1 eth0\nadopt_grace_ms = 500\n');
    expect(live.stamp()).not.toBe(stampOf(path)); // a hook's job planned with the new file: refused until reload
    expect(live.reload()).toEqual({ ok: true, changed: ['interfacePriority', 'adoptGraceMs'], restart: [] });
    expect(live.current().interfacePriority).toEqual(['eth1', 'eth0']);
    expect(live.stamp()).toBe(stampOf(path));
  });

  it('a file that does not parse keeps the config in use, and says why', () => {
    const { path, live } = setUp('interface_priority = eth0 eth1\n');
    const before = live.current();
    writeFileSync(path, 'interface_priority = eth1\nlease_time = soon\n');
    const r = live.reload();
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/m\.conf:2: lease_time: expected a whole number/) });
    expect(live.current()).toBe(before);
  });

  it('keys the services were built from keep their value until a restart; hooks stay refused meanwhile', () => {
    const { path, live } = setUp('table_range = 100-200\n');
    writeFileSync(path, 'table_range = 300-400\nloose_rp_filter = no\n');
    expect(live.reload()).toEqual({ ok: true, changed: ['looseRpFilter'], restart: ['tableMin', 'tableMax'] });
    expect([live.current().tableMin, live.current().looseRpFilter]).toEqual([100, false]);
    expect(live.stamp()).toBe('');
    writeFileSync(path, 'table_range = 100-200\n'); // put back: accepted again
    expect(live.reload()).toEqual({ ok: true, changed: ['looseRpFilter'], restart: [] });
    expect(live.stamp()).toBe(stampOf(path));
  });
});

describe('fileKeys', () => {
  it('names keys as the config file does', async () => {
    const { fileKeys } = await import('../../../lib/config/live.js');
    expect(fileKeys(['interfacePriority', 'tableMin', 'tableMax', 'prefDefault', 'adoptGraceMs'])).toEqual(['interface_priority', 'table_range', 'rule_pref_default', 'adopt_grace_ms']);
  });
});
