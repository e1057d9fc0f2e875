// How the hooks read the daemon's reply (mhr_reply_wait, the same function in
// hooks/ifupdown/hook.sh and hooks/dhclient/shim.sh) in the real bash, in a
// UTF-8 locale, with this test playing the daemon and writing what the
// daemon encodes (encodeHandoverReply): the reply comes back byte for byte
// whatever its log lines quote, a refusal is an empty reply, a reply to
// another PID or a header that is no length is no answer, and a daemon gone
// ends the wait at once rather than after 10 s.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeHandoverReply, refusedReply } from '../../../lib/daemon/handover.js';

const hook = readFileSync(new URL('../../../hooks/ifupdown/hook.sh', import.meta.url), 'utf8');
const waitFunction = /^mhr_reply_wait\(\) \{[\s\S]*?\n\}$/m.exec(hook)![0];
let dir: string;
let slot: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mhr-reply-wait-'));
  slot = join(dir, 'slot.0');
  spawnSync('mkfifo', ['-m', '600', slot]);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** bash -p holding the slot read-write on fd 3, as the hooks do, waiting for `daemonPid`'s reply. */
async function waiter(daemonPid = process.pid) {
  const script = `${waitFunction}\nexec 3<>"$1"\necho opened\nmhr_reply_wait 3 "$2"\necho "rc=$?"\nprintf %s "$mhr_reply"`;
  const child = spawn('/bin/bash', ['-p', '-c', script, 'mhr', slot, String(daemonPid)], { env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
  let out = '';
  const t0 = Date.now();
  const done = new Promise<{ rc: number; reply: string; ms: number }>((resolve) => {
    child.on('close', () => {
      const [, first, ...rest] = out.split('\n');
      resolve({ rc: Number(first!.slice(3)), reply: rest.join('\n'), ms: Date.now() - t0 });
    });
  });
  await new Promise<void>((resolve) => child.stdout.setEncoding('utf8').on('data', (d: string) => ((out += d), out.startsWith('opened\n') && resolve())));
  return { done, pid: child.pid! };
}

/** What the daemon does: one write on the slot opened without blocking. */
function answer(text: string) {
  const fd = openSync(slot, constants.O_WRONLY | constants.O_NONBLOCK);
  writeSync(fd, text);
  closeSync(fd);
}

describe('mhr_reply_wait', () => {
  it('reads the reply byte for byte, whatever its log lines quote', async () => {
    const { done, pid } = await waiter();
    const reply = encodeHandoverReply(pid, 'outcome=handled\n', ['hostname "ünïcödé → x" from the lease', 'a\0b', 'x'.repeat(3000)], 0);
    answer(reply);
    const r = await done;
    expect(r.rc).toBe(0);
    expect(r.reply).toBe(reply.slice(reply.indexOf('\n') + 1));
    expect(r.reply).toContain('log hostname "ünïcödé → x" from the lease\nlog a b\n');
    expect(r.reply.endsWith('outcome=handled\nstatus=0\ndone\n')).toBe(true);
  });

  it('a refusal: an empty reply (no `done`), at once', async () => {
    const { done, pid } = await waiter();
    answer(refusedReply(pid));
    expect(await done).toMatchObject({ rc: 0, reply: '' });
  });

  it('a reply to another PID: no answer, nothing of it taken', async () => {
    const { done, pid } = await waiter();
    answer(encodeHandoverReply(pid + 1, 'outcome=handled\n', [], 0));
    expect(await done).toMatchObject({ rc: 1, reply: '' });
  });

  it('a first line that is no length: no answer', async () => {
    const { done } = await waiter();
    answer('status=0\ndone\n'); // no header at all
    expect(await done).toMatchObject({ rc: 1, reply: '' });
  });

  it('the daemon gone while it waits: no answer within a quarter second or so, not after 10 s', async () => {
    const stand = spawn('sleep', ['60']);
    const { done } = await waiter(stand.pid);
    stand.kill('SIGKILL');
    const r = await done;
    expect(r).toMatchObject({ rc: 1, reply: '' });
    expect(r.ms).toBeLessThan(5_000);
  });
});
