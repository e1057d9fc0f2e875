// `multihomed-routing demo`: see it work, in a sandbox of network namespaces
// (lib/demo/scenario.ts). This module only parses the options: the scenario
// is loaded when the command runs, so no hook pays for it.

import { UsageError, parseFlags, type Command } from '../cli/context.js';

export const demoCommand: Command = {
  summary: 'show it work: a sandboxed host with 4 uplinks, real dhclient, failover and an unplugged modem (root)',
  usage: [
    'demo [--keep] [--json] [--break udev|watcher]',
    '      a sandboxed host (eth0, wlan0, wwan0, wwan1), a dnsmasq',
    "      router per uplink, an internet; hooks in the host's",
    '      private /etc, the daemon, real dhclient; each step',
    '      checked. Exit 0 when all behaved, 1 naming the first',
    '      that did not. Leaves nothing (also on Ctrl-C).',
    '      --keep   leave the sandbox up, print how to enter it',
    '      --json   one JSON report at the end',
    '      --break  test aid: leave out udev handler or watcher',
    'demo --cleanup',
    '      remove a sandbox left by --keep or a killed demo',
  ].join('\n'),
  async run(ctx) {
    const { flags, positional } = parseFlags(ctx.args, { '--keep': 'bool', '--json': 'bool', '--break': 'string', '--cleanup': 'bool' });
    if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
    const broken = flags['--break'];
    if (broken !== undefined && broken !== 'udev' && broken !== 'watcher') throw new UsageError(`--break takes udev or watcher, not ${String(broken)}`);
    if (flags['--cleanup']) {
      if (Object.keys(flags).length > 1) throw new UsageError('--cleanup goes alone');
      const { sweep } = await import('./sandbox.js');
      const removed = await sweep();
      ctx.out(removed.length ? `removed: ${removed.join(', ')}\n` : 'no demo sandbox left over\n');
      return 0;
    }
    const { runDemo } = await import('./scenario.js');
    const report = await runDemo({
      keep: flags['--keep'] === true,
      json: flags['--json'] === true,
      break: broken as 'udev' | 'watcher' | undefined,
      write: ctx.out,
    });
    return report.ok ? 0 : 1;
  },
};
