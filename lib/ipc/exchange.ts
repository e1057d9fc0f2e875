// What both transports of the hook's exchange share (line-socket.ts through
// the runtime's pipe handle, line-socket-net.ts through node:net): its
// options, its outcome and how a reply line is read.

export type Exchange =
  | { ok: true; reply: string }
  /** `code`: the errno name of a failed connect (ENOENT: no socket, ECONNREFUSED: nobody listening), or ETIMEDOUT. */
  | { ok: false; why: string; code?: string };

export interface ExchangeOptions {
  timeoutMs: number;
  /** A reply line longer than this is refused. */
  maxReplyBytes: number;
  /** Called once connected (tracing). */
  onConnect?: () => void;
  /** 'net' forces node:net (tests); default: the pipe handle when usable. */
  transport?: 'auto' | 'net';
}

/** Collects chunks up to the first newline; undefined until then. */
export function lineReader(max: number) {
  const chunks: Uint8Array[] = [];
  let size = 0;
  return (chunk: Uint8Array): Exchange | undefined => {
    const nl = Uint8Array.prototype.indexOf.call(chunk, 10);
    chunks.push(nl >= 0 ? chunk.subarray(0, nl) : chunk);
    size += nl >= 0 ? nl : chunk.length;
    if (size > max) return { ok: false, why: `the reply is longer than ${max} bytes` };
    return nl >= 0 ? { ok: true, reply: Buffer.concat(chunks).toString('utf8') } : undefined;
  };
}

export const closedEarly: Exchange = { ok: false, why: 'the connection was closed without a reply' };
export const timedOut = (ms: number): Exchange => ({ ok: false, code: 'ETIMEDOUT', why: `no reply within ${ms} ms` });
export const connectFailed = (path: string, code: string, message: string): Exchange => ({ ok: false, code, why: `cannot connect to ${path}: ${message}` });
