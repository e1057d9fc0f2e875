import { readState } from '../state/read.js';
import { buildStatus, formatStatus } from '../status/status.js';
import { parseFlags, UsageError, type Command } from './context.js';

/** `status [--json]`: every managed address with its table, rules, routes and degraded flag. */
export const statusCommand: Command = {
  summary: 'show every managed address: table, rules, routes, degraded',
  usage: 'status [--json]',
  async run(ctx) {
    const { flags, positional } = parseFlags(ctx.args, { '--json': 'bool' });
    if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
    const config = ctx.config();
    const state = await readState({ families: [4, 6], runDir: config.runDir });
    const list = buildStatus(state, config);
    ctx.out(flags['--json'] ? `${JSON.stringify(list, null, 2)}\n` : formatStatus(list));
    return 0;
  },
};
