// `multihomed-routing events [--json] [--follow]`: the daemon's socket
// command (the recent events, then with follow every new one, one line
// each) and its client. Root only, like every command of the socket (its
// directory is 0700).

import { createConnection } from 'node:net';
import type { SocketCommand } from '../daemon/socket.js';
import type { EventEmitter } from './emitter.js';
import { EVENT_TYPES, type MhrEvent } from './event.js';

export function eventsSocketCommand(emitter: EventEmitter): SocketCommand {
  return {
    maxBytes: 256,
    run: async () => ({ version: 1, cmd: 'response', events: emitter.recent() }),
    follow: (request, send) => (request.follow === true ? emitter.subscribe((event) => send({ version: 1, cmd: 'event', event })) : undefined),
  };
}

const isEvent = (e: unknown): e is MhrEvent =>
  typeof e === 'object' && e !== null && EVENT_TYPES.includes((e as MhrEvent).type) && typeof (e as MhrEvent).time === 'number' && typeof (e as MhrEvent).reason === 'string';

/** Asks the daemon; `onEvent` gets the recent events, then (follow) new ones until the daemon goes. Rejects with a sentence. */
export function readEvents(socketPath: string, follow: boolean, onEvent: (e: MhrEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let buf = '';
    let answered = false;
    const fail = (why: string) => {
      socket.destroy();
      reject(new Error(`cannot read the daemon's events at ${socketPath}: ${why}`));
    };
    socket.setTimeout(3000, () => !answered && fail('no answer within 3000 ms'));
    socket.on('connect', () => socket.write(`${JSON.stringify({ version: 1, cmd: 'events', follow })}\n`));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EACCES') fail('permission denied (only root may read them, like the allocator)');
      else if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') fail('no daemon is running (is `multihomed-routing daemon` started?)');
      else fail(err.message);
    });
    socket.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: { error?: string; events?: unknown[]; event?: unknown };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return fail('the daemon sent a line that is not JSON');
        }
        if (msg.error) return fail(msg.error);
        if (!answered) {
          answered = true;
          socket.setTimeout(0);
          for (const e of msg.events ?? []) if (isEvent(e)) onEvent(e);
          if (!follow) {
            socket.end();
            return resolve();
          }
        } else if (isEvent(msg.event)) onEvent(msg.event);
      }
    });
    socket.on('close', () => (answered ? resolve() : fail('the daemon closed the connection')));
  });
}
