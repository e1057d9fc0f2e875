// The message format both protocols on the daemon's socket share (the
// allocator's, lib/allocator/protocol.ts, and the hooks' events,
// lib/dispatch/wire.ts): one JSON object per line, `version` and `cmd` in
// every one. Checks here never throw: a peer's bytes become a Parsed value.

export const PROTOCOL_VERSION = 1;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A whole number that fits 32 bits unsigned (tables, metrics, lifetimes). */
export const isU32 = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

/** The first key of `o` that is not in `allowed`. */
export const unexpectedKey = (o: Record<string, unknown>, allowed: readonly string[]): string | undefined => Object.keys(o).find((k) => !allowed.includes(k));

/** One line (without its newline) → its object, of the protocol's version. */
export function parseMessage(line: string, maxBytes: number): Parsed<Record<string, unknown>> {
  if (Buffer.byteLength(line) > maxBytes) return fail(`request longer than ${maxBytes} bytes`);
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return fail('expected one JSON object per line, received text that is not JSON');
  }
  if (!isObject(o)) return fail('expected a JSON object');
  if (o.version !== PROTOCOL_VERSION) return fail(`version: expected ${PROTOCOL_VERSION}, received ${JSON.stringify(o.version)}`);
  return { ok: true, value: o };
}

/** A reply line → its object; `sender` names the peer in the error (the hook trusts the daemon, not its bytes). */
export function parseReplyMessage(line: string, sender: string): Parsed<Record<string, unknown>> {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return fail(`${sender} sent a reply that is not JSON`);
  }
  if (!isObject(o)) return fail(`${sender} sent a reply that is not an object`);
  if (o.version !== PROTOCOL_VERSION || o.cmd !== 'response') {
    return fail(`${sender} sent version ${JSON.stringify(o.version)} cmd ${JSON.stringify(o.cmd)}, expected version ${PROTOCOL_VERSION} cmd "response"`);
  }
  if (o.error !== undefined && typeof o.error !== 'string') return fail(`${sender} sent a non-string error`);
  return { ok: true, value: o };
}
