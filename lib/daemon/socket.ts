// The daemon's Unix socket: lines in, one reply line per line out, each
// line a message (lib/ipc/message.ts) handed to the command its `cmd`
// names. The allocator (request, release, list) and the event service
// (event) register their commands; this module knows neither.
//
// Who may connect: Node has no SO_PEERCRED without a native addon, so the
// guard is the file system. The socket's directory must be owned by us
// (root) and 0700, the socket itself is 0600; connect(2) on a Unix socket
// needs write permission on it, so only root gets through. We refuse to
// start when the directory is anything else rather than repair it silently.
//
// One client cannot disturb another: each connection is read on its own,
// a malformed line gets an error reply, an oversized one an error reply and
// the connection closed, an idle or half-sent one is closed after a timeout.
// A line is framed up to the largest command's limit (the command is known
// only once the line is whole and parsed), then held to its own command's.

import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../log/log.js';
import { parseMessage } from '../ipc/message.js';
import { trace } from '../trace/trace.js';

/** What a component registers for one `cmd`. */
export interface SocketCommand {
  /** Longest line of this command (bytes, newline excluded). */
  maxBytes: number;
  /** Answers one request (the parsed line); the reply is sent as one line. */
  run(request: Record<string, unknown>): Promise<object>;
  /**
   * After the reply, a command may keep the connection for a stream (`events
   * --follow`): `send` writes one line; the returned stop runs when the client
   * goes. No further requests are read on that connection.
   */
  follow?(request: Record<string, unknown>, send: (reply: object) => void): (() => void) | undefined;
}

/** Bytes a follower may leave unread before it is dropped (a stalled client must not grow the daemon). */
const MAX_FOLLOW_BACKLOG = 1 << 20;

export interface SocketOptions {
  path: string;
  log: Logger;
  commands: Record<string, SocketCommand>;
  /** A connection silent this long (also mid-line) is closed. */
  idleTimeoutMs?: number;
  maxConnections?: number;
  /**
   * A listening socket inherited from systemd (lib/daemon/activation.ts):
   * served as it is; `path` is only what it should be bound to.
   */
  fd?: number;
}

export interface SocketServer {
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Why the daemon will not start; the message is the log line. */
export class SocketStartError extends Error {
  override name = 'SocketStartError';
}

/** Most lines one connection may have waiting for their replies. */
const MAX_PIPELINED = 32;

/**
 * The error reply of the protocol: `table: 0` is what an allocator client
 * reads as "no table", `error` what every client reads as a refusal.
 */
const refusal = (error: string) => ({ version: 1, cmd: 'response', table: 0, error });

/** Creates the socket directory 0700, or checks that the existing one is ours and 0700. */
export function prepareSocketDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o700); // the umask may have taken bits away, never added; be exact
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  const uid = process.geteuid?.() ?? 0;
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  if (!st.isDirectory()) {
    throw new SocketStartError(`refusing to start: socket directory ${dir} exists and is not a directory`);
  }
  if (st.uid !== uid || (st.mode & 0o7777) !== 0o700) {
    throw new SocketStartError(
      `refusing to start: socket directory ${dir} must be owned by uid ${uid} with mode 0700, found uid ${st.uid} mode ${mode} (fix it or remove it)`,
    );
  }
}

/**
 * Makes `path` ours before the daemon touches anything else (a second
 * daemon must refuse before it reads the store): its directory checked,
 * a socket left by a dead daemon removed; a live one or a non-socket refused.
 */
export async function claimSocketPath(path: string): Promise<void> {
  prepareSocketDir(dirname(path));
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw new SocketStartError(`refusing to start: ${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new SocketStartError(`refusing to start: another allocator is listening on ${path}`);
  unlinkSync(path);
}

function listen(server: Server, at: string | { fd: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    // No window in which the socket has wider permissions than 0600.
    const umask = process.umask(0o177);
    server.once('error', (err) => {
      process.umask(umask);
      reject(err);
    });
    server.listen(at, () => {
      process.umask(umask);
      server.removeAllListeners('error');
      resolve();
    });
  });
}

/** Listens on `path` (claimed first: claimSocketPath) and serves the commands until close(). */
export async function serveSocket(options: SocketOptions): Promise<SocketServer> {
  const { log, commands } = options;
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const names = Object.keys(commands);
  const frameMax = Math.max(...Object.values(commands).map((c) => c.maxBytes));
  const connections = new Set<Socket>();

  /** The reply to one line, with the command and request that may follow it. */
  async function answerFor(line: string, bytes: number): Promise<[object | { close: string }, SocketCommand?, Record<string, unknown>?]> {
    const parsed = parseMessage(line, frameMax);
    const command = parsed.ok ? (Object.hasOwn(commands, parsed.value.cmd as string) ? commands[parsed.value.cmd as string] : undefined) : undefined;
    if (!parsed.ok || !command) {
      const error = parsed.ok ? `cmd: expected ${names.join(', ')}, received ${JSON.stringify(parsed.value.cmd)}` : parsed.error;
      log.warn('refused a malformed request', { reason: error });
      return [refusal(error)];
    }
    if (bytes > command.maxBytes) return [{ close: `request longer than ${command.maxBytes} bytes` }];
    const reply = await command.run(parsed.value).catch((err: Error) => {
      log.error('request failed', { reason: err.message });
      return refusal(err.message);
    });
    return [reply, command, parsed.value];
  }

  const maxConnections = options.maxConnections ?? 1024;
  let busySince = 0; // when the last "too many connections" warning was logged
  function handle(socket: Socket): void {
    // Past the cap a client gets a refusal it reads at once (a hook then
    // works alone), not a reset it would take for a fault and retry.
    if (connections.size >= maxConnections) {
      socket.on('error', () => {});
      socket.end(`${JSON.stringify(refusal(`busy: ${connections.size} connections open, the limit is ${maxConnections}`))}\n`);
      if (Date.now() - busySince > 10_000) {
        busySince = Date.now();
        log.warn('refusing connections: too many open', { open: connections.size, limit: maxConnections });
      }
      return;
    }
    connections.add(socket);
    socket.setTimeout(idleTimeoutMs);
    // Idle, not busy: a connection waiting for an event being applied stays.
    socket.on('timeout', () => waiting === 0 && socket.destroy());
    socket.on('error', () => {}); // a client that went away is its own problem
    socket.on('close', () => connections.delete(socket));
    let pending: Buffer = Buffer.alloc(0);
    let waiting = 0;
    let chain: Promise<void> = Promise.resolve();
    /** No more lines are read (a refusal is due); `ended`: it was sent, nothing more is answered. */
    let closing = false;
    let ended = false;

    const send = (reply: object) => {
      if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(reply)}\n`);
    };
    /** Sends the refusal in its turn (after the replies to the lines before it) and closes. */
    const end = (error: string) => {
      if (ended) return;
      ended = closing = true;
      log.warn('closing a client connection', { reason: error });
      send(refusal(error));
      socket.end();
    };
    const refuseAndClose = (error: string) => {
      closing = true;
      chain = chain.then(() => end(error));
    };

    socket.on('data', (chunk: Buffer) => {
      trace('socket data');
      if (closing) return;
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (let nl = pending.indexOf(10); nl >= 0 && !closing; nl = pending.indexOf(10)) {
        const line = pending.subarray(0, nl).toString('utf8').replace(/\r$/, '');
        pending = pending.subarray(nl + 1);
        if (nl > frameMax) return refuseAndClose(`request longer than ${frameMax} bytes`);
        if (line.trim() === '') continue;
        if (++waiting > MAX_PIPELINED) return refuseAndClose(`more than ${MAX_PIPELINED} requests waiting on one connection`);
        chain = chain.then(async () => {
          if (ended) return;
          const [r, command, request] = await answerFor(line, nl);
          waiting--;
          if ('close' in r) return end(r.close as string);
          send(r);
          trace('reply sent');
          const stop = command?.follow && !('error' in r) ? command.follow(request!, (o) => {
            if (socket.writableLength > MAX_FOLLOW_BACKLOG) {
              log.warn('closing a client connection', { reason: 'a follower that does not read' });
              socket.destroy();
            } else send(o);
          }) : undefined;
          if (stop) {
            closing = true; // a stream: no more requests on this connection
            socket.setTimeout(0);
            socket.on('close', stop);
          }
        });
      }
      if (pending.length > frameMax) refuseAndClose(`request longer than ${frameMax} bytes`);
    });
  }

  const server = createServer({ allowHalfOpen: false }, handle);
  if (options.fd === undefined) {
    await listen(server, options.path);
    chmodSync(options.path, 0o600);
  } else {
    // systemd made it (SocketMode=0600) and removes it; it may be bound elsewhere than socket_path, where hooks connect.
    await listen(server, { fd: options.fd }).catch((err: Error) => {
      throw new SocketStartError(`refusing to start: the descriptor ${options.fd} systemd passed is not a listening socket (${err.message})`);
    });
    const bound = server.address();
    if (typeof bound === 'string' && bound !== options.path) {
      log.warn('the socket systemd passed is not socket_path: hooks connect to socket_path', { bound, socket_path: options.path });
    }
  }

  return {
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of connections) socket.destroy();
      await closed;
    },
  };
}
