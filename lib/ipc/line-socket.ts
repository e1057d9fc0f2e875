// One request line out, one reply line back, over a Unix stream socket: the
// hook's only exchange with the daemon, on the path of every event.
//
// Through node:net this costs ~5 ms of a ~30 ms hook (measured: loading
// net and its stream modules 2.5 ms, creating the socket 1.2 ms, the first
// write and read through the stream machinery 1.4 ms); through the libuv
// pipe handle underneath net (the runtime's pipe_wrap binding) ~0.6 ms.
// The binding is internal: its shape is checked before use, and when it is
// missing or different (another runtime than the one the executable was
// built with) the exchange goes through node:net. Both paths are tested
// against a real socket (test/unit/ipc/line-socket.test.ts).

import { getSystemErrorName } from 'node:util';
import { closedEarly, connectFailed, lineReader, timedOut, type Exchange, type ExchangeOptions } from './exchange.js';

/** Sends `line` (no newline in it) and resolves with the first line of the reply; never throws. */
export function exchangeLine(path: string, line: string, o: ExchangeOptions): Promise<Exchange> {
  const raw = o.transport === 'net' ? undefined : pipeBinding();
  // node:net in a module of its own, loaded only then (esbuild keeps a dynamic import of a builtin, which the executable cannot run).
  return raw ? viaPipe(raw, path, line, o) : import('./line-socket-net.js').then((m) => m.viaNet(path, line, o));
}

interface PipeHandle {
  connect(req: object, path: string): number;
  writeUtf8String(req: object, text: string): number;
  readStart(): number;
  close(cb?: () => void): void;
  onread: (buf: ArrayBuffer | undefined) => void;
}
interface PipeBinding {
  Pipe: new (type: number) => PipeHandle;
  PipeConnectWrap: new () => { oncomplete?: (status: number) => void };
  WriteWrap: new () => { handle?: PipeHandle; oncomplete?: (status: number) => void; async?: boolean };
  SOCKET: number;
  state: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
}

let binding: PipeBinding | null | undefined;

/** Whether this runtime's pipe handle is used (tests assert it, so a runtime that changed it is noticed). */
export const pipeTransportAvailable = () => pipeBinding() !== null;

/** The pipe_wrap and stream_wrap bindings when they have the expected shape; null otherwise. */
function pipeBinding(): PipeBinding | null {
  if (binding !== undefined) return binding;
  binding = null;
  try {
    const b = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const pw = b('pipe_wrap');
    const sw = b('stream_wrap');
    const constants = pw.constants as Record<string, unknown> | undefined;
    const fns = [pw.Pipe, pw.PipeConnectWrap, sw.WriteWrap];
    const Pipe = pw.Pipe as { prototype: Record<string, unknown> } | undefined;
    if (
      fns.every((f) => typeof f === 'function') &&
      ['connect', 'writeUtf8String', 'readStart', 'close'].every((m) => typeof Pipe?.prototype[m] === 'function') &&
      typeof constants?.SOCKET === 'number' &&
      sw.streamBaseState instanceof Int32Array &&
      typeof sw.kReadBytesOrError === 'number' &&
      typeof sw.kArrayBufferOffset === 'number'
    ) {
      binding = {
        Pipe: pw.Pipe as PipeBinding['Pipe'],
        PipeConnectWrap: pw.PipeConnectWrap as PipeBinding['PipeConnectWrap'],
        WriteWrap: sw.WriteWrap as PipeBinding['WriteWrap'],
        SOCKET: constants.SOCKET,
        state: sw.streamBaseState,
        kReadBytesOrError: sw.kReadBytesOrError,
        kArrayBufferOffset: sw.kArrayBufferOffset,
      };
    }
  } catch {
    // no process.binding, or these bindings are not allowed: node:net
  }
  return binding;
}

const errorName = (status: number) => {
  try {
    return getSystemErrorName(status);
  } catch {
    return `E${-status}`;
  }
};

function viaPipe(b: PipeBinding, path: string, line: string, o: ExchangeOptions): Promise<Exchange> {
  return new Promise((resolve) => {
    const pipe = new b.Pipe(b.SOCKET);
    const read = lineReader(o.maxReplyBytes);
    let done = false;
    // Requests stay referenced until they complete (the handle holds no reference to them).
    let write: InstanceType<PipeBinding['WriteWrap']> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: Exchange) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      pipe.onread = () => {}; // must stay a function (the runtime asserts it)
      pipe.close();
      resolve(r);
    };
    const onConnected = (status: number) => {
      if (status < 0) return finish(connectFailed(path, errorName(status), errorName(status)));
      o.onConnect?.();
      pipe.onread = (buf) => {
        const n = b.state[b.kReadBytesOrError]!;
        if (n < 0 || !buf) return finish(n === -4095 /* UV_EOF */ ? closedEarly : { ok: false, why: `reading from ${path}: ${errorName(n)}` });
        const r = read(new Uint8Array(buf, b.state[b.kArrayBufferOffset]!, n));
        if (r) finish(r);
      };
      write = new b.WriteWrap();
      write.handle = pipe;
      write.async = false;
      write.oncomplete = (s: number) => {
        if (s < 0) finish({ ok: false, why: `writing to ${path}: ${errorName(s)}` });
        write = undefined;
      };
      const err = pipe.writeUtf8String(write, `${line}\n`) || pipe.readStart();
      if (err < 0) return finish({ ok: false, why: `writing to ${path}: ${errorName(err)}` });
      // Armed once the line is out (a Unix socket's connect does not wait);
      // unreferenced: the socket being read keeps the process alive, the timer alone does not.
      timer = setTimeout(() => finish(timedOut(o.timeoutMs)), o.timeoutMs).unref();
    };
    const connect = new b.PipeConnectWrap();
    connect.oncomplete = onConnected;
    const err = pipe.connect(connect, path);
    if (err < 0) finish(connectFailed(path, errorName(err), errorName(err)));
  });
}
