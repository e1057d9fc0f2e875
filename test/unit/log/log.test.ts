import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/log/log.js';

// The syslog sink through a fake logger(1) first on PATH, which appends its
// arguments and standard input to files.

let dir: string;
let path: string | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mhr-log-'));
  writeFileSync(join(dir, 'logger'), `#!/bin/sh\necho "$*" >> ${dir}/args\ncat >> ${dir}/stdin\n`);
  chmodSync(join(dir, 'logger'), 0o755);
  path = process.env.PATH;
  process.env.PATH = `${dir}:${path}`;
});
afterAll(() => {
  process.env.PATH = path;
  rmSync(dir, { recursive: true, force: true });
});
const read = (name: string) => {
  try {
    return readFileSync(join(dir, name), 'utf8');
  } catch {
    return '';
  }
};

describe('createLogger with syslog', () => {
  it('sends every line to one logger(1) with its priority; local lines only to stderr', async () => {
    writeFileSync(join(dir, 'stdin'), '');
    writeFileSync(join(dir, 'args'), '');
    const lines: string[] = [];
    const log = createLogger({ source: 'test', syslog: true, write: (l) => lines.push(l) });
    log.info('first', { iface: 'eth0' });
    log.error('second');
    log.local!('nothing changed', { changes: 0 });
    await log.flush();
    expect(lines).toEqual(['multihomed-routing test: first iface=eth0', 'multihomed-routing test: error: second', 'multihomed-routing test: nothing changed changes=0']);
    expect(read('stdin')).toBe('<30>test: first iface=eth0\n<27>test: second\n');
    expect(read('args')).toBe(`--id=${process.pid} -t multihomed-routing --prio-prefix\n`);
  });

  it('prepare() starts logger(1) before the first line; without syslog it starts nothing', async () => {
    writeFileSync(join(dir, 'stdin'), '');
    writeFileSync(join(dir, 'args'), '');
    const log = createLogger({ source: 'test', syslog: true, write: () => {} });
    log.prepare!();
    await new Promise((r) => setTimeout(r, 50));
    log.warn('after prepare');
    await log.flush();
    expect(read('stdin')).toBe('<28>test: after prepare\n');
    expect(read('args').trim().split('\n')).toHaveLength(1);

    writeFileSync(join(dir, 'args'), '');
    const quiet = createLogger({ source: 'test', syslog: false, write: () => {} });
    quiet.prepare!();
    quiet.info('only stderr');
    await quiet.flush();
    expect(read('args')).toBe('');
  });

  it('stderr is the journal: each line once, with the level prefix journald reads, and no logger(1)', async () => {
    writeFileSync(join(dir, 'stdin'), '');
    writeFileSync(join(dir, 'args'), '');
    const lines: string[] = [];
    const log = createLogger({ source: 'daemon', syslog: true, journal: true, verbose: true, write: (l) => lines.push(l) });
    log.prepare!();
    log.error('e');
    log.warn('w');
    log.info('i', { iface: 'eth0' });
    log.debug('d');
    log.local!('l');
    await log.flush();
    expect(lines).toEqual([
      '<3>multihomed-routing daemon: error: e',
      '<4>multihomed-routing daemon: warn: w',
      '<6>multihomed-routing daemon: i iface=eth0',
      '<7>multihomed-routing daemon: debug: d',
      '<6>multihomed-routing daemon: l',
    ]);
    expect(read('args')).toBe('');
    expect(read('stdin')).toBe('');
  });
});
