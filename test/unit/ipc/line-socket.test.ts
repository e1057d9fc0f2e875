// The hook's one exchange with the daemon, through both transports, against
// a real Unix socket served by this process.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lineReader } from '../../../lib/ipc/exchange.js';
import { exchangeLine, pipeTransportAvailable } from '../../../lib/ipc/line-socket.js';

let dir: string;
let server: Server | undefined;
const sockets: Socket[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mhr-line-'));
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Serves `path`; `onLine` gets each request line and its socket. */
function serve(onLine: (line: string, s: Socket) => void): Promise<string> {
  const path = join(dir, 's.sock');
  server = createServer((s) => {
    sockets.push(s);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) onLine(buf.slice(0, nl), s);
    });
  });
  return new Promise((r) => server!.listen(path, () => r(path)));
}

describe('reading a reply', () => {
  const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));
  it('lineReader: the first line, from chunks up to the newline', () => {
    const read = lineReader(100);
    expect(read(bytes('{"a":'))).toBeUndefined();
    expect(read(bytes('"ü"}\nrest'))).toEqual({ ok: true, reply: '{"a":"ü"}' });
    expect(lineReader(4)(bytes('12345\n'))).toEqual({ ok: false, why: 'the reply is longer than 4 bytes' });
    const u = bytes('["ü → 名"]\n');
    const split = lineReader(100);
    expect(split(u.subarray(0, 3))).toBeUndefined(); // "ü" cut in two
    expect(split(u.subarray(3))).toEqual({ ok: true, reply: '["ü → 名"]' });
  });
});

it('this runtime has the pipe handle the hook uses (else every hook pays ~4 ms for node:net)', () => {
  expect(pipeTransportAvailable()).toBe(true);
});

for (const transport of ['auto', 'net'] as const) {
  describe(`through ${transport === 'auto' ? 'the pipe handle' : 'node:net'}`, () => {
    const o = { timeoutMs: 2000, maxReplyBytes: 64, transport };

    it('sends the line, returns the first reply line (sent in pieces, more after it)', async () => {
      const path = await serve((line, s) => {
        s.write(`echo ${line.slice(0, 3)}`);
        setTimeout(() => s.write(` ${Buffer.byteLength(line)} ${line.slice(-3)}\nnext line\n`), 20);
      });
      let connected = 0;
      expect(await exchangeLine(path, '{"a":"ü"}', { ...o, onConnect: () => connected++ })).toEqual({ ok: true, reply: 'echo {"a 10 ü"}' });
      expect(connected).toBe(1);
    });

    it('no socket: ENOENT', async () => {
      const r = await exchangeLine(join(dir, 'none.sock'), 'x', o);
      expect(r).toMatchObject({ ok: false, code: 'ENOENT' });
    });

    it('a file that is no socket (nobody listening): ECONNREFUSED', async () => {
      writeFileSync(join(dir, 'file'), '');
      expect(await exchangeLine(join(dir, 'file'), 'x', o)).toMatchObject({ ok: false, code: 'ECONNREFUSED' });
    });

    it('closed without a reply: says so', async () => {
      const path = await serve((_line, s) => s.end());
      expect(await exchangeLine(path, 'x', o)).toEqual({ ok: false, why: 'the connection was closed without a reply' });
    });

    it('no reply in time: ETIMEDOUT, the connection closed', async () => {
      let closed = false;
      const path = await serve((_line, s) => s.on('close', () => (closed = true)));
      expect(await exchangeLine(path, 'x', { ...o, timeoutMs: 150 })).toMatchObject({ ok: false, code: 'ETIMEDOUT' });
      await new Promise((r) => setTimeout(r, 50));
      expect(closed).toBe(true);
    });

    it('a reply longer than allowed: refused', async () => {
      const path = await serve((_line, s) => s.write(`${'y'.repeat(100)}\n`));
      expect(await exchangeLine(path, 'x', o)).toMatchObject({ ok: false, why: 'the reply is longer than 64 bytes' });
    });
  });
}
