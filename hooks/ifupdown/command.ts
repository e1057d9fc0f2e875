// `multihomed-routing ifupdown`: the hook ifupdown runs from
// /etc/network/if-up.d and /etc/network/if-post-down.d (and NetworkManager
// through Debian's 01-ifupdown dispatcher script). MODE and PHASE in the
// environment tell up from down, so both directories run the same command.
// It never fails ifup: every outcome exits 0, failures are logged.

import type { Command, CommandContext } from '../../lib/cli/context.js';
import { createDispatcher, unansweredHandover } from '../../lib/dispatch/dispatch.js';
import type { Job, Outcome } from '../../lib/dispatch/job.js';
import { parseIfupdownEnv } from './env.js';

export const ifupdownCommand: Command = {
  summary: 'ifupdown / NetworkManager (01-ifupdown) hook: per-address tables and rules for static addresses',
  usage: 'ifupdown            (environment from ifupdown: IFACE, ADDRFAM, METHOD, MODE, PHASE, IF_*)',
  run: (ctx) => runIfupdown(ctx),
};

/** Parses the run's environment and dispatches its events (through `given`: the daemon's queue, for a handed-over hook). */
export async function runIfupdown(ctx: CommandContext, given?: (job: Job) => Promise<Outcome>): Promise<number> {
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
  const { dryRun, verbose, configPath } = ctx.options;
  // One job per event: the addresses of a NetworkManager run are independent, one failing does not hold up the others.
  const dispatch = given ?? createDispatcher({ config, configPath, log: ctx.log, out: ctx.out, unanswered: unansweredHandover(ctx.env) });
  for (const event of parsed.events) await dispatch({ hook: 'ifupdown', events: [event], dryRun, verbose });
  return 0;
}
