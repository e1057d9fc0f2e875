import { dnsDecision, howToTurnOn } from '../dns/mode.js';
import { readDnsUnconfigured } from '../dns/unconfigured.js';
import { readState } from '../state/read.js';
import { buildForwardingStatus, formatForwardingStatus } from '../status/forwarding.js';
import { buildStatus, formatDns, formatStatus } from '../status/status.js';
import { readRecords } from '../state/records.js';
import { formatView, readView, withAdoptions } from '../watch/view.js';
import { formatHealth, readHealthView } from '../health/view.js';
import { parseFlags, UsageError, type Command } from './context.js';
import { isRunning } from '../proc/alive.js';

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
 * degraded flag (and DNS not configured), then (human form) whether
 * per-uplink DNS is on, the daemon's view: live leases, held or expiring,
 * and what it repaired, and the health of each uplink (the daemon's probes;
 * in --json as each address's `health`). `status --daemon [--json]`: the
 * daemon's view alone.
 */
export const statusCommand: Command = {
  summary: "show every managed address (table, rules, routes, degraded) and the daemon's view (leases, repairs)",
  usage: 'status [--json]\nstatus --daemon [--json]     the daemon\'s view: leases held or expiring, repairs\nstatus --forwarding [--json] pins of forwarded traffic and reply marks',
  async run(ctx) {
    const { flags, positional } = parseFlags(ctx.args, { '--json': 'bool', '--daemon': 'bool', '--forwarding': 'bool' });
    if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
    const config = ctx.config();
    const now = Math.floor(Date.now() / 1000);
    const { records } = readRecords(config.runDir);
    const { value: read, error: viewError } = attempt(() => readView(config.runDir));
    const view = read ? withAdoptions(read, records) : undefined;
    const running = view ? isRunning(view.pid) : false;
    if (flags['--daemon']) {
      if (viewError) throw new Error(viewError);
      ctx.out(flags['--json'] ? `${JSON.stringify(view ? { ...view, running } : null, null, 2)}\n` : formatView(view, running, now));
      return 0;
    }
    const { value: health, error: healthError } = attempt(() => readHealthView(config.runDir));
    const healthAlive = health ? isRunning(health.pid) : false;
    const state = await readState({ families: [4, 6], runDir: config.runDir });
    const list = buildStatus(state, config, readDnsUnconfigured(config.runDir));
    const forwarding = buildForwardingStatus(state, config);
    if (flags['--forwarding']) {
      ctx.out(flags['--json'] ? `${JSON.stringify(forwarding, null, 2)}\n` : formatForwardingStatus(forwarding));
      return 0;
    }
    if (flags['--json']) {
      // Addresses the daemon adopted (no hook reported them) say why; a stale health view (its daemon gone) says nothing about now.
      const adopted = (s: (typeof list)[number]) => records.find((r) => r.table === s.table && r.family === s.family && r.ifname === s.ifname)?.adopted;
      const of = (a: { ifname: string; address: string }) => (healthAlive ? health?.uplinks.find((u) => u.ifname === a.ifname && a.address.split('/')[0] === u.address) : undefined);
      const json = list.map((a) => {
        const h = of(a);
        const why = adopted(a);
        return { ...a, ...(why ? { adopted: why } : {}), ...(h ? { health: { state: h.health, since: h.since, last_rtt_ms: h.lastRttMs, loss: h.loss, answering: h.answering, targets: h.targets, why: h.why } } : {}) };
      });
      ctx.out(`${JSON.stringify(json, null, 2)}\n`);
      return 0;
    }
    const dns = formatDns(dnsDecision(config), howToTurnOn({ ...config, configPath: ctx.options.configPath }));
    const fwd = formatForwardingStatus(forwarding);
    ctx.out(`${formatStatus(list)}\n${fwd ? `${fwd}\n` : ''}${dns}\n${viewError ? `daemon: ${viewError}\n` : formatView(view, running, now)}${healthError ? `health: ${healthError}\n` : formatHealth(health, healthAlive, now)}`);
    return 0;
  },
};
