import { dnsDecision, howToTurnOn } from '../dns/mode.js';
import { readDnsUnconfigured } from '../dns/unconfigured.js';
import { readState } from '../state/read.js';
import { buildStatus, formatDns, formatStatus } from '../status/status.js';
import { readRecords } from '../state/records.js';
import { formatView, readView, withAdoptions, type DaemonView } from '../watch/view.js';
import { parseFlags, UsageError, type Command } from './context.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `status [--json]`: every managed address with its table, rules, routes and
 * degraded flag (and DNS not configured), then (human form) whether
 * per-uplink DNS is on and the daemon's view: live leases, held or
 * expiring, and what it repaired. `status --daemon [--json]`: the view alone.
 */
export const statusCommand: Command = {
  summary: "show every managed address (table, rules, routes, degraded) and the daemon's view (leases, repairs)",
  usage: 'status [--json]\nstatus --daemon [--json]     the daemon\'s view: leases held or expiring, repairs',
  async run(ctx) {
    const { flags, positional } = parseFlags(ctx.args, { '--json': 'bool', '--daemon': 'bool' });
    if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
    const config = ctx.config();
    const now = Math.floor(Date.now() / 1000);
    let view: DaemonView | undefined;
    let viewError: string | undefined;
    const { records } = readRecords(config.runDir);
    try {
      view = readView(config.runDir);
      if (view) view = withAdoptions(view, records);
    } catch (err) {
      viewError = (err as Error).message;
    }
    const running = view ? alive(view.pid) : false;
    if (flags['--daemon']) {
      if (viewError) throw new Error(viewError);
      ctx.out(flags['--json'] ? `${JSON.stringify(view ? { ...view, running } : null, null, 2)}\n` : formatView(view, running, now));
      return 0;
    }
    const state = await readState({ families: [4, 6], runDir: config.runDir });
    const list = buildStatus(state, config, readDnsUnconfigured(config.runDir));
    if (flags['--json']) {
      // Addresses the daemon adopted (no hook reported them) say why.
      const adopted = (s: (typeof list)[number]) => records.find((r) => r.table === s.table && r.family === s.family && r.ifname === s.ifname)?.adopted;
      ctx.out(`${JSON.stringify(list.map((s) => (adopted(s) ? { ...s, adopted: adopted(s) } : s)), null, 2)}\n`);
      return 0;
    }
    const dns = formatDns(dnsDecision(config), howToTurnOn({ ...config, configPath: ctx.options.configPath }));
    ctx.out(`${formatStatus(list)}\n${dns}\n${viewError ? `daemon: ${viewError}\n` : formatView(view, running, now)}`);
    return 0;
  },
};
