// The runner with real scripts in a temporary directory (sh, sleep).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { listScripts, startScriptRunner } from '../../../lib/events/scripts.js';
import { createLogger } from '../../../lib/log/log.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function dirWith(scripts: Record<string, [string, number]>) {
  const d = mkdtempSync(join(tmpdir(), 'mhr-events-'));
  dirs.push(d);
  for (const [name, [body, mode]] of Object.entries(scripts)) {
    writeFileSync(join(d, name), body);
    chmodSync(join(d, name), mode);
  }
  return d;
}

test('run-parts names, executable bit, byte order; a missing directory has none', () => {
  const d = dirWith({ b: ['#!/bin/sh\n', 0o755], A: ['#!/bin/sh\n', 0o755], '.x': ['#!/bin/sh\n', 0o755], 'c.sh': ['#!/bin/sh\n', 0o755], d_1: ['#!/bin/sh\n', 0o644], 'e-2': ['#!/bin/sh\n', 0o700] });
  expect(listScripts(d).map((p) => p.slice(d.length + 1))).toEqual(['A', 'b', 'e-2']);
  expect(listScripts(join(d, 'none'))).toEqual([]);
});

test('one event at a time in order; a hanging script is killed at its timeout, a full queue drops the oldest', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'mhr-out-')), 'log');
  dirs.push(join(out, '..'));
  const d = dirWith({ '1-rec': [`#!/bin/sh\necho "$MHR_EVENT $MHR_REASON" >> ${out}\n`, 0o755], '2-hang': ['#!/bin/sh\nsleep 30\n', 0o755] });
  const lines: string[] = [];
  const log = createLogger({ source: 'test', verbose: true, syslog: false, write: (l) => lines.push(l) });
  const runner = startScriptRunner({ dir: () => d, timeoutMs: () => 200, log, maxQueue: 1 });
  const outcomes: string[] = [];
  runner.onRun = (r) => outcomes.push(`${r.script} ${r.outcome}`);
  const t0 = Date.now();
  for (const reason of ['a', 'b', 'c']) runner.push({ type: 'daemon-started', time: 0, reason });
  await runner.close(5000);
  // 'a' was running when 'c' came: the queue (b) was full, so b went.
  expect(readFileSync(out, 'utf8')).toBe('daemon-started a\ndaemon-started c\n');
  expect(outcomes).toEqual(['1-rec ok', '2-hang timeout', '1-rec ok', '2-hang timeout']);
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(lines.join('\n')).toMatch(/oldest queued events dropped/);
});
