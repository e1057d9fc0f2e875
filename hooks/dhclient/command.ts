// `multihomed-routing dhclient-hook`: what the enter-hook shim
// (hooks/dhclient/shim.sh) runs with dhclient-script's environment.
//
// environment → lib/dhcp (parse, validate) → one job (the reason's events
// and the interface's name servers) → lib/dispatch → outcome lines on
// stdout for the shim:
//   outcome=handled | outcome=unusable | outcome=pass
//   resolv=keep                     (per-uplink DNS on: lib/dns/mode.ts)
//   call=make_resolv_conf, call=set_hostname  (stock steps still wanted)
// Exit status 0 with an outcome line: the shim acts on it. Anything else
// (exit 1: invalid DHCP values, no config, routing failed) makes the shim
// leave `reason` to dhclient-script, so the host is configured as it would
// be without us; the reason is logged here.

import type { Command, CommandContext } from '../../lib/cli/context.js';
import type { Config } from '../../lib/config/schema.js';
import type { DnsChange } from '../../lib/dns/update.js';
import { createDispatcher, unansweredHandover } from '../../lib/dispatch/dispatch.js';
import { dnsDecision, type DnsDecision } from '../../lib/dns/mode.js';
import type { Job, Outcome } from '../../lib/dispatch/job.js';
import { parseDhclientEnv, type DhclientHook } from '../../lib/dhcp/parse.js';
import { leftToScript, rememberRenewal } from '../../lib/dhcp/renewal.js';
import { writeStderr } from '../../lib/log/fd.js';
import type { Runner } from '../../lib/exec/run.js';
import { isIgnored } from '../../lib/plan/ignore.js';
import { trace } from '../../lib/trace/trace.js';
import type { RoutingEvent } from '../../lib/plan/event.js';

/** Side effects the command uses; real ones by default (tests replace them). */
export interface DhclientHookDeps {
  /** Applies a job: the daemon when it runs, else this process (lib/dispatch). */
  dispatch: (job: Job) => Promise<Outcome>;
  run: Runner;
  /** Is per-uplink DNS on (does dnsmasq own resolv.conf)? */
  dns?: (config: Config) => DnsDecision;
}

/** The runner (TIMEOUT's ping) is loaded only when used: a dispatched job loads no node:child_process. */
const defaultsFor = (ctx: CommandContext, config: Config): DhclientHookDeps => ({
  dispatch: createDispatcher({ config, configPath: ctx.options.configPath, log: ctx.log, out: writeStderr, unanswered: unansweredHandover(ctx.env) }),
  run: async (argv, options) => (await import('../../lib/exec/run.js')).run(argv, options),
});

const V4_UP = new Set(['BOUND', 'RENEW', 'REBIND', 'REBOOT']);

/**
 * The dhclient-script steps that must still run for a handled reason (its
 * case statement will not): set_hostname where it calls it, and
 * make_resolv_conf where it calls it unless dnsmasq owns DNS.
 */
export function stockCalls(hook: DhclientHook, env: NodeJS.ProcessEnv, dnsOn: boolean): string[] {
  const calls: string[] = [];
  const v4Up = V4_UP.has(hook.reason);
  const v6Up =
    hook.reason === 'BOUND6' ||
    ((hook.reason === 'RENEW6' || hook.reason === 'REBIND6') &&
      (env.new_dhcp6_name_servers !== env.old_dhcp6_name_servers || env.new_dhcp6_domain_search !== env.old_dhcp6_domain_search));
  if (!dnsOn && (v4Up || hook.reason === 'TIMEOUT' || v6Up)) calls.push('make_resolv_conf');
  if (v4Up) calls.push('set_hostname');
  return calls;
}

/** Runs the hook; returns the exit code and prints the outcome lines through ctx.out. */
export async function runDhclientHook(ctx: CommandContext, deps?: DhclientHookDeps): Promise<number> {
  const { log } = ctx;
  const say = (...lines: string[]) => ctx.out(lines.map((l) => `${l}\n`).join(''));
  let config: Config;
  try {
    config = ctx.config();
  } catch (err) {
    log.error(`config: ${(err as Error).message}; leaving this event to dhclient-script`);
    return 1;
  }
  // Decided once for this run: dnsmasq owns resolv.conf only while per-uplink DNS is on.
  const dns = (deps?.dns ?? dnsDecision)(config);
  if (dns.on) say('resolv=keep');
  else log.debug('per-uplink DNS off: dhclient-script writes resolv.conf', { why: dns.why });

  let hook: DhclientHook;
  try {
    hook = parseDhclientEnv(ctx.env);
  } catch (err) {
    log.error(`refused DHCP values: ${(err as Error).message}; nothing changed, leaving this event to dhclient-script`, {
      reason: ctx.env.reason,
    });
    return 1;
  }
  trace('env parsed');
  const fields = { reason: hook.reason, iface: hook.ifname };
  if (!hook.handled) {
    log.debug('not ours: dhclient-script handles it', fields);
    say('outcome=pass');
    return 0;
  }
  if (isIgnored(config, hook.ifname)) {
    log.debug('interface ignored (ignore_interfaces): dhclient-script handles it', fields);
    say('outcome=pass');
    return 0;
  }
  // Every half lease, mostly with nothing of ours changed (lib/dhcp/renewal.ts).
  if (!ctx.options.dryRun && leftToScript(hook, ctx.env, config)) {
    (log.local ?? log.info)('renewal changes nothing of ours: left to dhclient-script (address lifetime)', fields);
    if (!dns.on) rememberRenewal(hook, ctx.env, config);
    say('outcome=pass');
    return 0;
  }
  trace('renewal checked');

  const d = deps ?? defaultsFor(ctx, config);
  // The servers go to the job either way: its writer decides again (on: written; off: this interface's removed).
  const learned = hook.dns;
  const job = (events: RoutingEvent[], servers: DnsChange | undefined): Job => ({
    hook: 'dhclient-hook', events, dryRun: ctx.options.dryRun, verbose: ctx.options.verbose, ...(servers ? { dns: servers } : {}),
  });
  const handled = () => {
    say(...stockCalls(hook, ctx.env, dns.on).map((c) => `call=${c}`), 'outcome=handled');
    return 0;
  };
  if (!hook.probe) {
    if ((await d.dispatch(job(hook.events, learned))).failed !== undefined) return 1;
    if (!ctx.options.dryRun && !dns.on) rememberRenewal(hook, ctx.env, config); // its renewals: the shim's shortcut
    return handled();
  }

  // TIMEOUT: the recorded lease is kept only if its first router answers; its servers wait for the answer.
  const applied = await d.dispatch(job(hook.events, undefined));
  const up = hook.events.find((e) => e.kind === 'address-up');
  const keep = applied.failed !== undefined || !up || ctx.options.dryRun ||
    (await d.run(['ping', '-q', '-n', '-c', '1', '-W', '2', '-I', hook.ifname, hook.probe.text], { reject: false, timeoutMs: 10_000 })).exitCode === 0;
  if (keep) {
    await d.dispatch(job([], learned));
    return applied.failed === undefined ? handled() : 1;
  }
  log.warn('recorded lease unusable: its router does not answer; removing it', { ...fields, router: hook.probe.text });
  const down: RoutingEvent = { kind: 'address-down', source: 'dhclient', ifname: hook.ifname, address: up.address, manageAddress: true, soleLease: true };
  if ((await d.dispatch(job([down], learned && { ...learned, servers: [] }))).failed !== undefined) return 1;
  say('outcome=unusable');
  return 0;
}

export const dhclientHookCommand: Command = {
  summary: 'dhclient enter hook: per-address tables, rules and dnsmasq servers for DHCP and DHCPv6 leases',
  usage: 'dhclient-hook       (environment from dhclient-script: reason, interface, new_*, old_*; run by the enter-hook shim)',
  run: (ctx) => runDhclientHook(ctx),
};
