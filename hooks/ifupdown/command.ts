// `multihomed-routing ifupdown`: the hook ifupdown runs from
// /etc/network/if-up.d and /etc/network/if-post-down.d (and NetworkManager
// through Debian's 01-ifupdown dispatcher script). MODE and PHASE in the
// environment tell up from down, so both directories run the same command.
// It never fails ifup: every outcome exits 0, failures are logged.

import type { Command, CommandContext } from '../../lib/cli/context.js';
import type { Config } from '../../lib/config/schema.js';
import { announceEvent, endAnnouncement } from '../../lib/delegate/client.js';
import { DelegatedFailure, routeEvent } from '../../lib/delegate/route.js';
import { isIgnored } from '../../lib/plan/ignore.js';
import { ifupdownScope, parseIfupdownEnv } from './env.js';

export const ifupdownCommand: Command = {
  summary: 'ifupdown / NetworkManager (01-ifupdown) hook: per-address tables and rules for static addresses',
  usage: 'ifupdown            (environment from ifupdown: IFACE, ADDRFAM, METHOD, MODE, PHASE, IF_*)',
  async run(ctx) {
    // When there will be an event, the config first: the daemon then reads
    // what the event touches while this process parses (lib/delegate/prefetch.ts).
    const scope = ifupdownScope(ctx.env);
    if (scope) {
      let config: Config | undefined;
      try {
        config = ctx.config();
      } catch {
        // logged below, where a run without an event would log it too
      }
      if (config && !isIgnored(config, scope.ifname)) await announceEvent(config.socketPath, scope);
    }
    try {
      return await handleRun(ctx);
    } finally {
      endAnnouncement();
    }
  },
};

/** Parses the run's environment and hands its events to routing. */
async function handleRun(ctx: CommandContext): Promise<number> {
  const parsed = parseIfupdownEnv(ctx.env);
  if (parsed.kind === 'ignore') {
    ctx.log.debug(parsed.why, { iface: ctx.env.IFACE });
    return 0;
  }
  if (parsed.kind === 'invalid') {
    ctx.log.error(`refused: ${parsed.why}; nothing changed`, { iface: ctx.env.IFACE });
    return 0;
  }
  let config;
  try {
    config = ctx.config();
  } catch (err) {
    ctx.log.error(`config: ${(err as Error).message}; nothing changed`, { iface: ctx.env.IFACE });
    return 0;
  }
  // The daemon applies the events when it runs (lib/delegate); else this process does.
  const { dryRun, verbose, configPath } = ctx.options;
  for (const event of parsed.events) {
    try {
      await routeEvent(event, { config, configPath, hook: 'ifupdown', log: ctx.log, dryRun, verbose, out: ctx.out });
    } catch (err) {
      if (!(err instanceof DelegatedFailure)) ctx.log.error(`routing not configured: ${(err as Error).message}`, { iface: event.ifname });
    }
  }
  return 0;
}
