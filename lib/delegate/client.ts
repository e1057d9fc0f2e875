// The hook's side: one connect to the daemon's socket, one event line out,
// one reply line back (line-socket.ts). Pure modules only besides: the fast
// path of a hook loads neither node:child_process nor the planner.

import { trace } from '../trace/trace.js';
import { dropPreconnected, exchangeLine, preconnect } from '../ipc/line-socket.js';
import type { Family } from '../net/address.js';
import type { RoutingEvent } from '../plan/event.js';
import type { DnsUpdateRequest } from '../dns/update.js';
import { encodeDns, encodeEvent, MAX_EVENT_REPLY_BYTES, parseEventReply, type EventReply, type EventRequest, type HookName, type PrefetchRequest } from './wire.js';

/** How long a hook waits for a daemon that took its event before it works alone. */
export const DELEGATE_TIMEOUT_MS = 10_000;

export type Delegated =
  | { ok: true; reply: EventReply }
  /** `quiet`: no daemon listening, the usual fallback (not worth a warning). */
  | { ok: false; why: string; quiet: boolean };

export interface DelegateRequest {
  socketPath: string;
  configPath: string;
  hook: HookName;
  event: RoutingEvent;
  dryRun: boolean;
  verbose: boolean;
  timeoutMs?: number;
  /** The interface's name servers after the event, for the daemon to write (dnsmasq mode). */
  dns?: DnsUpdateRequest;
}

/**
 * Connects now and tells the daemon which interface and families the coming
 * event touches (wire.ts PrefetchRequest): an idle daemon reads that state
 * while this process prepares the event, which then goes over the same
 * connection (delegateEvent). Never fails; a connection no event took is
 * closed by endAnnouncement.
 */
export async function announceEvent(socketPath: string, scope: { ifname: string; families: Family[] }): Promise<void> {
  const line: PrefetchRequest = { version: 1, cmd: 'prefetch', ifname: scope.ifname, families: scope.families };
  await preconnect(socketPath, JSON.stringify(line));
  trace('delegate announced');
}

/** Closes an announcement's connection if no event went over it (the daemon lets go of what it holds for it). */
export const endAnnouncement = dropPreconnected;

/** Sends the event to the daemon; never throws. */
export async function delegateEvent(req: DelegateRequest): Promise<Delegated> {
  const timeoutMs = req.timeoutMs ?? DELEGATE_TIMEOUT_MS;
  const line: EventRequest = {
    version: 1,
    cmd: 'event',
    event: encodeEvent(req.event),
    dry_run: req.dryRun,
    verbose: req.verbose,
    config_path: req.configPath,
    hook: req.hook,
    expires_at: Date.now() + timeoutMs,
  };
  if (req.dns) line.dns = encodeDns(req.dns);
  trace('delegate connecting');
  const r = await exchangeLine(req.socketPath, JSON.stringify(line), {
    timeoutMs,
    maxReplyBytes: MAX_EVENT_REPLY_BYTES,
    onConnect: () => trace('delegate connected'),
  });
  trace('delegate replied');
  if (!r.ok) {
    const quiet = r.code === 'ENOENT' || r.code === 'ECONNREFUSED';
    if (quiet) return { ok: false, why: 'no daemon is running', quiet };
    if (r.code === 'ETIMEDOUT') return { ok: false, why: `the daemon took the event but did not answer within ${timeoutMs} ms`, quiet };
    return { ok: false, why: `the daemon did not answer: ${r.why}`, quiet };
  }
  const parsed = parseEventReply(r.reply);
  if (!parsed.ok) return { ok: false, why: parsed.error, quiet: false };
  if (parsed.value.error !== undefined) return { ok: false, why: `the daemon did not take the event: ${parsed.value.error}`, quiet: false };
  return { ok: true, reply: parsed.value };
}
