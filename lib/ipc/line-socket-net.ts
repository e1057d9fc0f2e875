// The exchange of line-socket.ts through node:net: the fallback when the
// runtime's pipe handle is not usable, and what tests compare it with.

import { createConnection } from 'node:net';
import { closedEarly, connectFailed, lineReader, timedOut, type Exchange, type ExchangeOptions } from './exchange.js';

export function viaNet(path: string, line: string, o: ExchangeOptions): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const read = lineReader(o.maxReplyBytes);
    let connected = false;
    let done = false;
    const finish = (r: Exchange) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish(timedOut(o.timeoutMs)), o.timeoutMs);
    socket.on('connect', () => {
      connected = true;
      o.onConnect?.();
      socket.write(`${line}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      const r = read(chunk);
      if (r) finish(r);
    });
    socket.on('end', () => finish(closedEarly));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish(connected ? { ok: false, why: `connection to ${path} failed: ${err.message}` } : connectFailed(path, err.code ?? 'EIO', err.message)),
    );
  });
}
