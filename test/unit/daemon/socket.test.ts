// The daemon's socket against real connections: each line goes to the
// command its `cmd` names, within that command's size limit; anything else
// gets an error reply saying why.

import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimSocketPath, serveSocket, type SocketServer } from '../../../lib/daemon/socket.js';
import { createLogger } from '../../../lib/log/log.js';

let dir: string;
let path: string;
let server: SocketServer;
let logLines: string[];
/** What each command received, as `cmd:value`. */
let received: string[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mhr-socket-'));
  path = join(dir, 'run', 'd.sock');
  logLines = [];
  received = [];
  const command = (maxBytes: number) => ({
    maxBytes,
    run: async (o: Record<string, unknown>) => {
      received.push(`${String(o.cmd)}:${String(o.value).slice(0, 20)}`);
      if (o.value === 'throw') throw new Error('it broke');
      return { version: 1, cmd: 'response', echo: o.cmd };
    },
  });
  await claimSocketPath(path);
  server = await serveSocket({ path, log: createLogger({ source: 'test', write: (l) => logLines.push(l) }), commands: { small: command(100), big: command(1000) } });
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends `text`, collects `n` reply lines (parsed) and whether the daemon closed the connection. */
function talk(text: string, n: number): Promise<{ replies: Record<string, unknown>[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let buf = '';
    let closed = false;
    const done = () => resolve({ replies: buf.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), closed });
    c.on('connect', () => c.write(text));
    c.on('data', (d) => {
      buf += d.toString();
      if (buf.split('\n').length > n) setTimeout(() => (c.destroy(), done()), 50);
    });
    c.on('end', () => (closed = true));
    c.on('close', done);
    c.on('error', reject);
  });
}
const line = (o: object) => `${JSON.stringify(o)}\n`;

describe('the daemon socket', () => {
  it('hands each line to the command its cmd names, replies in order on one connection', async () => {
    const r = await talk(line({ version: 1, cmd: 'big', value: 1 }) + line({ version: 1, cmd: 'small', value: 2 }), 2);
    expect(r.replies).toEqual([{ version: 1, cmd: 'response', echo: 'big' }, { version: 1, cmd: 'response', echo: 'small' }]);
    expect(received).toEqual(['big:1', 'small:2']);
  });

  it('malformed JSON, another version, an unknown cmd: an error reply each, the connection kept', async () => {
    const r = await talk(`{"version":1,\n${line({ version: 2, cmd: 'small' })}${line({ version: 1, cmd: 'reboot' })}${line({ version: 1, cmd: 'small', value: 'ok' })}`, 4);
    expect(r.replies.slice(0, 3)).toEqual([
      { version: 1, cmd: 'response', table: 0, error: 'expected one JSON object per line, received text that is not JSON' },
      { version: 1, cmd: 'response', table: 0, error: 'version: expected 1, received 2' },
      { version: 1, cmd: 'response', table: 0, error: 'cmd: expected small, big, received "reboot"' },
    ]);
    expect(r.replies[3]).toEqual({ version: 1, cmd: 'response', echo: 'small' });
    expect(received).toEqual(['small:ok']);
    expect(logLines.join('\n')).toMatch(/refused a malformed request reason="cmd: expected small, big/);
  });

  it("a line over its command's limit is refused with the limit, and the connection closed", async () => {
    const long = { version: 1, cmd: 'small', value: 'x'.repeat(200) };
    expect(await talk(line({ ...long, cmd: 'big' }), 1)).toMatchObject({ replies: [{ echo: 'big' }] });
    const r = await talk(line(long), 1);
    expect(r.replies).toEqual([{ version: 1, cmd: 'response', table: 0, error: 'request longer than 100 bytes' }]);
    expect(r.closed).toBe(true);
    expect(received).toEqual([`big:${'x'.repeat(20)}`]);
    expect(logLines.join('\n')).toMatch(/closing a client connection reason="request longer than 100 bytes"/);
  });

  it('the refusal comes in its turn: after the replies to the lines before it, and nothing after it is answered', async () => {
    const ok = line({ version: 1, cmd: 'small', value: 'a' });
    const r = await talk(ok + line({ version: 1, cmd: 'small', value: 'x'.repeat(200) }) + line({ version: 1, cmd: 'small', value: 'b' }), 2);
    expect(r.replies).toEqual([{ version: 1, cmd: 'response', echo: 'small' }, { version: 1, cmd: 'response', table: 0, error: 'request longer than 100 bytes' }]);
    expect(r.closed).toBe(true);
    expect(received).toEqual(['small:a']);
  });

  it('a line longer than any command allows is refused before it ends', async () => {
    const r = await talk(`{"version":1,"cmd":"big","value":"${'x'.repeat(2000)}`, 1);
    expect(r.replies).toEqual([{ version: 1, cmd: 'response', table: 0, error: 'request longer than 1000 bytes' }]);
    expect(r.closed).toBe(true);
    expect(received).toEqual([]);
  });

  it("a command that throws: an error reply with its message, logged", async () => {
    const r = await talk(line({ version: 1, cmd: 'small', value: 'throw' }), 1);
    expect(r.replies).toEqual([{ version: 1, cmd: 'response', table: 0, error: 'it broke' }]);
    expect(logLines.join('\n')).toMatch(/error: request failed reason="it broke"/);
  });

  it('a second daemon is refused while this one listens', async () => {
    await expect(claimSocketPath(path)).rejects.toThrow(/refusing to start: another allocator is listening on/);
  });

  it('past the connection limit a client is refused at once with a reply it reads (busy), not a reset; the limit frees with a close', async () => {
    const path2 = join(dir, 'run', 'cap.sock');
    await claimSocketPath(path2);
    const capped = await serveSocket({ path: path2, log: createLogger({ source: 'test', write: (l) => logLines.push(l) }), commands: { small: { maxBytes: 100, run: async () => ({ version: 1, cmd: 'response', ok: true }) } }, maxConnections: 1 });
    const held = createConnection(path2);
    await new Promise((r) => held.once('connect', r));
    await new Promise((r) => setTimeout(r, 50)); // the server has taken it
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const c = createConnection(path2);
        let got = '';
        c.on('data', (d) => (got += d.toString()));
        c.on('close', () => resolve(got));
        c.on('error', reject);
      });
      expect(JSON.parse(reply)).toEqual({ version: 1, cmd: 'response', table: 0, error: 'busy: 1 connections open, the limit is 1' });
      expect(logLines.join('\n')).toMatch(/warn: refusing connections: too many open open=1 limit=1/);
    } finally {
      held.destroy();
    }
    await new Promise((r) => setTimeout(r, 50));
    const answered = await new Promise<string>((resolve) => {
      const c = createConnection(path2);
      c.on('connect', () => c.write(line({ version: 1, cmd: 'small' })));
      c.on('data', (d) => (c.destroy(), resolve(d.toString())));
    });
    expect(JSON.parse(answered)).toEqual({ version: 1, cmd: 'response', ok: true });
    await capped.close();
  });
});
