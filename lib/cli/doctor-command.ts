import { diagnose } from '../doctor/checks/index.js';
import { isProblem } from '../doctor/findings.js';
import { formatReport } from '../doctor/format.js';
import { DEFAULT_PROBES, readHost } from '../doctor/read.js';
import { parseIp } from '../net/address.js';
import { parseFlags, UsageError, type Command } from './context.js';

/** `doctor [--json]`: inspects the live host and explains each problem with its fix. Exit 0 healthy, 1 problems. */
export const doctorCommand: Command = {
  summary: 'inspect the host and explain each routing problem, with the fix (exit 1 when any)',
  usage: 'doctor [--json] [--probe4 ADDR] [--probe6 ADDR]',
  async run(ctx) {
    const { flags, positional } = parseFlags(ctx.args, { '--json': 'bool', '--probe4': 'string', '--probe6': 'string' });
    if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
    const probe = (flag: '--probe4' | '--probe6', family: 4 | 6): string => {
      const v = flags[flag];
      if (typeof v !== 'string') return DEFAULT_PROBES[family];
      try {
        return parseIp(v, family).text;
      } catch (err) {
        throw new UsageError(`${flag}: ${(err as Error).message}`);
      }
    };
    const probes = { 4: probe('--probe4', 4), 6: probe('--probe6', 6) };
    const config = ctx.config();
    if (process.getuid?.() !== 0) {
      ctx.log.warn("not root: the daemon's socket and other users' processes (dnsmasq) cannot be checked; run doctor as root");
    }
    const snap = await readHost({ config, probes });
    const findings = diagnose(snap, { ...config, configPath: ctx.options.configPath });
    for (const f of findings) ctx.log.debug(`finding ${f.id}`, { severity: f.severity, subject: f.subject });
    const healthy = !findings.some(isProblem);
    if (flags['--json']) {
      ctx.out(`${JSON.stringify({ healthy, findings, checked: { addresses: snap.replyRoutes.length, interfaces: snap.kernel.links.length } }, null, 2)}\n`);
    } else {
      ctx.out(formatReport(findings, `${snap.replyRoutes.length} addresses on ${new Set(snap.replyRoutes.map((r) => r.ifname)).size} interfaces checked`));
    }
    return healthy ? 0 : 1;
  },
};
