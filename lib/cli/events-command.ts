import { parseFlags, UsageError, type Command } from './context.js';

// `multihomed-routing events [--json] [--follow]`: what the daemon told the
// event scripts, from its socket (lib/events/stream.ts); --follow keeps
// printing new events until interrupted or the daemon stops.

export const eventsCommand: Command = {
  summary: 'print the daemon\'s recent events (address, health, failover); --follow: then new ones as they happen',
  usage: 'events [--json] [--follow]',
  async run(ctx) {
    const { flags, positional } = parseFlags(ctx.args, { '--json': 'bool', '--follow': 'bool' });
    if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
    const [{ readEvents }, { formatEvent }] = await Promise.all([import('../events/stream.js'), import('../events/event.js')]);
    const json = flags['--json'] === true;
    try {
      await readEvents(ctx.config().socketPath, flags['--follow'] === true, (e) => ctx.out(`${json ? JSON.stringify(e) : formatEvent(e)}\n`));
    } catch (err) {
      ctx.log.error((err as Error).message);
      return 1;
    }
    return 0;
  },
};
