// The hook's one exchange with the daemon, through both transports, against
// a real Unix socket served by this process.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeUtf8, dropPreconnected, exchangeLine, lineReader, pipeTransportAvailable, preconnect } from '../../../lib/ipc/line-socket.js';

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

describe('decoding a reply', () => {
  const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));
  it('gives what Buffer gives: ASCII, long lines, UTF-8 split between chunks, invalid bytes', () => {
    const u = bytes('{"lines":["ü → 名"]}');
    const cases: Uint8Array[][] = [
      [bytes('{"version":1,"cmd":"response","table":10000}')],
      [bytes('x'.repeat(10_000)), bytes('y'.repeat(5000))],
      [u.subarray(0, 12), u.subarray(12)], // "ü" cut in two
      [new Uint8Array([0x41, 0xff, 0xc3, 0x42])],
      [new Uint8Array(0)],
    ];
    for (const parts of cases) expect(decodeUtf8(parts)).toBe(Buffer.concat(parts).toString('utf8'));
  });
  it('lineReader: the first line, from chunks up to the newline', () => {
    const read = lineReader(100);
    expect(read(bytes('{"a":'))).toBeUndefined();
    expect(read(bytes('"ü"}\nrest'))).toEqual({ ok: true, reply: '{"a":"ü"}' });
    expect(lineReader(4)(bytes('12345\n'))).toEqual({ ok: false, why: 'the reply is longer than 4 bytes' });
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

describe('a connection opened ahead (preconnect)', () => {
  const o = { timeoutMs: 2000, maxReplyBytes: 64 };
  /** Serves `path`, recording per connection the lines it got and whether it ended; answers each `q` line. */
  function recordingServer(): Promise<{ path: string; connections: { lines: string[]; ended: boolean }[] }> {
    const path = join(dir, 'p.sock');
    const connections: { lines: string[]; ended: boolean }[] = [];
    server = createServer((s) => {
      sockets.push(s);
      const c = { lines: [] as string[], ended: false };
      connections.push(c);
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          c.lines.push(line);
          if (line.startsWith('q')) s.write(`answer to ${line}\n`);
        }
      });
      s.on('end', () => (c.ended = true));
    });
    return new Promise((r) => server!.listen(path, () => r({ path, connections })));
  }
  const until = async (ok: () => boolean) => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  };

  it('the first line is there when preconnect resolves; the exchange then goes over the same connection', async () => {
    const { path, connections } = await recordingServer();
    await preconnect(path, 'hint');
    await until(() => connections[0]?.lines.length === 1);
    expect(connections).toEqual([{ lines: ['hint'], ended: false }]);
    expect(await exchangeLine(path, 'q1', o)).toEqual({ ok: true, reply: 'answer to q1' });
    // The next exchange opens its own connection.
    expect(await exchangeLine(path, 'q2', o)).toEqual({ ok: true, reply: 'answer to q2' });
    await until(() => connections.length === 2 && connections.every((c) => c.ended));
    expect(connections).toEqual([{ lines: ['hint', 'q1'], ended: true }, { lines: ['q2'], ended: true }]);
  });

  it('an exchange with another socket does not take it; dropPreconnected closes it', async () => {
    const { path, connections } = await recordingServer();
    await preconnect(path, 'hint');
    expect(await exchangeLine(join(dir, 'none.sock'), 'q', o)).toMatchObject({ ok: false, code: 'ENOENT' });
    dropPreconnected();
    await until(() => connections[0]?.ended === true);
    expect(connections).toEqual([{ lines: ['hint'], ended: true }]);
  });

  it('no socket: preconnect resolves, and the exchange reports the connect failure', async () => {
    const path = join(dir, 'none.sock');
    await preconnect(path, 'hint');
    expect(await exchangeLine(path, 'q', o)).toMatchObject({ ok: false, code: 'ENOENT' });
  });
});
