import { renderDefaultConfig } from '../config/parse.js';
import { UsageError, type Command } from './context.js';

/** `config defaults` prints the documented default file; `config check` validates. */
export const configCommand: Command = {
  summary: 'print the default config file, or check the one in use',
  usage: 'config defaults\nconfig check [--config PATH]',
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    if (rest.length) throw new UsageError(`unexpected argument ${rest[0]}`);
    if (sub === 'defaults') {
      ctx.out(renderDefaultConfig());
      return 0;
    }
    if (sub === 'check') {
      const config = ctx.config();
      ctx.out(`${ctx.options.configPath}: ok (tables ${config.tableMin}-${config.tableMax})\n`);
      return 0;
    }
    throw new UsageError(sub ? `unknown config subcommand ${sub}` : 'config needs a subcommand');
  },
};
