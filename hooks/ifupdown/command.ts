// `multihomed-routing ifupdown`: the hook ifupdown runs from
// /etc/network/if-up.d and /etc/network/if-post-down.d (and NetworkManager
// through Debian's 01-ifupdown dispatcher script). MODE and PHASE in the
// environment tell up from down, so both directories run the same command.
// It never fails ifup: every outcome exits 0, failures are logged.

import { handleEvent } from '../../lib/apply/handle.js';
import type { Command } from '../../lib/cli/context.js';
import { parseIfupdownEnv } from './env.js';

export const ifupdownCommand: Command = {
  summary: 'ifupdown / NetworkManager (01-ifupdown) hook: per-address tables and rules for static addresses',
  usage: 'ifupdown            (environment from ifupdown: IFACE, ADDRFAM, METHOD, MODE, PHASE, IF_*)',
  async run(ctx) {
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
    for (const event of parsed.events) {
      try {
        await handleEvent(event, { config, log: ctx.log, dryRun: ctx.options.dryRun, out: ctx.out });
      } catch (err) {
        ctx.log.error(`routing not configured: ${(err as Error).message}`, { iface: event.ifname });
      }
    }
    return 0;
  },
};
