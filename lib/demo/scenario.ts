// `multihomed-routing demo`: walks the steps in order. Each step does
// something an operator would do (or suffer: a pulled plug, an unplugged
// modem) in the sandbox and checks what an operator would check: `ip rule`,
// `ip route show table T`, and which router a packet really went through
// (nftables counters at each router). The first step that does not behave
// stops the run; the sandbox is removed whatever happens (also on SIGINT,
// SIGTERM, SIGHUP).

import { DemoContext, type Step } from './context.js';
import { Reporter, type DemoReport } from './report.js';
import { Sandbox, UPLINKS } from './sandbox.js';
import { dhclientEverywhere } from './steps/dhcp.js';
import { plugBack, pullPlug } from './steps/failover.js';
import { buildSandbox, installHooks } from './steps/setup.js';
import { bound, inbound, unbound } from './steps/traffic.js';
import { unplugModem } from './steps/unplug.js';

export interface DemoOptions {
  keep: boolean;
  json: boolean;
  /** Test aid: a component left out, so that the step depending on it fails. */
  break?: 'udev' | 'watcher';
  write(text: string): void;
}

const STEPS: readonly Step[] = [buildSandbox, installHooks, dhclientEverywhere, inbound, bound, unbound, pullPlug, plugBack, unplugModem];

export async function runDemo(opts: DemoOptions): Promise<DemoReport> {
  let interrupted = false;
  const report = new Reporter((text) => {
    if (!interrupted) opts.write(text);
  }, opts.json);
  const sb = new Sandbox();
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nmultihomed-routing demo: ${sig}: removing the sandbox\n`);
    sb.destroy().then(
      (left) => {
        if (left.length) process.stderr.write(`left behind: ${left.join(', ')}\n`);
        process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
      },
      () => process.exit(1),
    );
  };
  for (const s of signals) process.on(s, onSignal);

  const ctx = new DemoContext(sb, report, opts.break);
  let skipped: string[] = [];
  try {
    report.title(`multihomed-routing demo: ${UPLINKS.length} uplinks in a sandbox of network namespaces (${sb.prefix}-*)`);
    for (const [i, step] of STEPS.entries()) {
      report.step(step.title, i + 1);
      try {
        await step.run(ctx);
      } catch (err) {
        report.fail(err instanceof Error ? err.message.split('\n').slice(0, 3).join(' ') : String(err));
      }
      if (report.failed) {
        skipped = STEPS.slice(i + 1).map((s, k) => `${i + 2 + k}. ${s.title}`);
        break;
      }
    }
  } finally {
    if (!interrupted) {
      report.step(opts.keep ? 'Keep the sandbox (--keep)' : 'Remove the sandbox', STEPS.length + 1);
      if (opts.keep) {
        report.note(`Enter the host: nsenter --target=${sb.host?.holderPid ?? '?'} --mount --net`);
        report.note(`A router or the internet: ip netns exec ${sb.prefix}-r0 … / ${sb.prefix}-i …; logs: ${sb.dir}`);
        report.note('Remove it: multihomed-routing demo --cleanup (the next demo run removes it too).');
      } else {
        const left = await sb.destroy();
        report.check(left.length === 0, 'namespaces, processes, the host\'s /etc and /run, the temp dir: all gone', left.join(', '));
      }
    }
    for (const s of signals) process.off(s, onSignal);
  }
  return report.finish(skipped);
}
