import type { Command } from './context.js';
import { UsageError } from './context.js';
import { renderManPage, type ManCommand } from './man.js';

/** Every command's name, summary and usage (loads each command module). */
export async function describeCommands(commands: Record<string, () => Promise<Command>>): Promise<ManCommand[]> {
  return Promise.all(Object.entries(commands).map(async ([name, load]) => {
    const c = await load();
    return { name, summary: c.summary, usage: c.usage };
  }));
}

/** `help [COMMAND]` lists the commands or describes one; `help man` prints the manual page (roff). */
export function helpCommand(commands: Record<string, () => Promise<Command>>, version: string): Command {
  return {
    summary: 'list the commands, describe one, or print the manual page (help man)',
    usage: 'help [COMMAND]\nhelp man',
    async run(ctx) {
      const [what, ...rest] = ctx.args;
      if (rest.length) throw new UsageError(`unexpected argument ${rest[0]}`);
      if (what === 'man') {
        ctx.out(renderManPage(await describeCommands(commands), version));
        return 0;
      }
      if (what !== undefined) {
        const load = commands[what];
        if (!load) throw new UsageError(`unknown command ${JSON.stringify(what)}`);
        const c = await load();
        ctx.out(`multihomed-routing ${what}: ${c.summary}\n\nusage:\n${c.usage.replace(/^/gm, '  ')}\n`);
        return 0;
      }
      const all = await describeCommands(commands);
      const width = Math.max(...all.map((c) => c.name.length));
      ctx.out(`${all.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}\n`);
      return 0;
    },
  };
}
