import { readState } from '../state/read.js';
import { buildStatus, formatStatus } from '../status/status.js';
import { formatView, readView } from '../watch/view.js';
import { formatHealth, readHealthView } from '../health/view.js';
import { parseFlags, UsageError, type Command } from './context.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A view file read: its value, or why it could not be read (status shows that instead). */
function attempt<T>(read: () => T): { value?: T; error?: string } {
  try {
    return { value: read() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/**
 * `status [--json]`: every managed address with its table, rules, routes and
 * degraded flag, then (human form) the daemon's view: live leases, held or
 * expiring, and what it repaired, and the health of each uplink (the daemon's
 * probes; in --json as each address's `health`). `status --daemon [--json]`:
 * the daemon's view alone.
 */
export const statusCommand: Command = {
  summary: "show every managed address (table, rules, routes, degraded) and the daemon's view (leases, repairs)",
  usage: 'status [--json]\nstatus --daemon [--json]     the daemon\'s view: leases held or expiring, repairs',
  async run(ctx) {
    const { flags, positional } = parseFlags(ctx.args, { '--json': 'bool', '--daemon': 'bool' });
    if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
    const config = ctx.config();
    const now = Math.floor(Date.now() / 1000);
    const { value: view, error: viewError } = attempt(() => readView(config.runDir));
    const running = view ? alive(view.pid) : false;
    if (flags['--daemon']) {
      if (viewError) throw new Error(viewError);
      ctx.out(flags['--json'] ? `${JSON.stringify(view ? { ...view, running } : null, null, 2)}\n` : formatView(view, running, now));
      return 0;
    }
    const { value: health, error: healthError } = attempt(() => readHealthView(config.runDir));
    const healthAlive = health ? alive(health.pid) : false;
    const state = await readState({ families: [4, 6], runDir: config.runDir });
    const list = buildStatus(state, config);
    if (flags['--json']) {
      // A stale view (its daemon gone) says nothing about now: no health then.
      const of = (a: { ifname: string; address: string }) => (healthAlive ? health?.uplinks.find((u) => u.ifname === a.ifname && a.address.split('/')[0] === u.address) : undefined);
      const withHealth = list.map((a) => {
        const h = of(a);
        return h ? { ...a, health: { state: h.health, since: h.since, last_rtt_ms: h.lastRttMs, loss: h.loss, answering: h.answering, targets: h.targets, why: h.why } } : a;
      });
      ctx.out(`${JSON.stringify(withHealth, null, 2)}\n`);
      return 0;
    }
    ctx.out(`${formatStatus(list)}\n${viewError ? `daemon: ${viewError}\n` : formatView(view, running, now)}${healthError ? `health: ${healthError}\n` : formatHealth(health, healthAlive, now)}`);
    return 0;
  },
};
