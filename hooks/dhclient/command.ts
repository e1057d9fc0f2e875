// `multihomed-routing dhclient-hook`: what the enter-hook shim
// (hooks/dhclient/shim.sh) runs with dhclient-script's environment.
//
// environment → lib/dhcp (parse, validate) → handleEvent per event →
// dnsmasq servers-file → outcome lines on stdout for the shim:
//   outcome=handled | outcome=unusable | outcome=pass
//   resolv=keep                     (dnsmasq mode)
//   call=make_resolv_conf, call=set_hostname  (stock steps still wanted)
// Exit status 0 with an outcome line: the shim acts on it. Anything else
// (exit 1: invalid DHCP values, no config, routing failed) makes the shim
// leave `reason` to dhclient-script, so the host is configured as it would
// be without us; the reason is logged here.

import type { HandleDeps } from '../../lib/apply/handle.js';
import type { Command, CommandContext } from '../../lib/cli/context.js';
import type { Config } from '../../lib/config/schema.js';
import { announceEvent, endAnnouncement } from '../../lib/delegate/client.js';
import { DelegatedFailure, routeEvent, type RouteResult } from '../../lib/delegate/route.js';
import { eventScope, parseDhclientEnv, type DhclientHook, type DnsUpdate } from '../../lib/dhcp/parse.js';
import { leftToScript } from '../../lib/dhcp/renewal.js';
import { updateInterfaceServers } from '../../lib/dns/update.js';
import { writeStderr } from '../../lib/log/fd.js';
import type { Runner } from '../../lib/exec/run.js';
import { isIgnored } from '../../lib/plan/ignore.js';
import { trace } from '../../lib/trace/trace.js';
import type { AddressUp, RoutingEvent } from '../../lib/plan/event.js';
import type { Family } from '../../lib/net/address.js';

/** Side effects the command uses; real ones by default (tests replace them). */
export interface DhclientHookDeps {
  /** With `dns`, whoever applies the event may also write the servers (`dnsDone`, or DelegatedFailure.dnsDone). */
  handle: (event: RoutingEvent, options: HandleDeps & { dns?: DnsUpdate }) => Promise<RouteResult>;
  run: Runner;
  /** Tells the daemon early which interface and families the event touches (lib/delegate/client.ts announceEvent). */
  announce?: (config: Config, scope: { ifname: string; families: Family[] }) => Promise<void>;
  /** Closes the announcement's connection when no event used it. */
  endAnnouncement?: () => void;
}

/**
 * The daemon applies the events when it runs (lib/delegate), else this
 * process; the runner (TIMEOUT's ping) is loaded only when used, so a
 * delegated event loads no node:child_process.
 */
const defaultsFor = (ctx: CommandContext): DhclientHookDeps => ({
  handle: (event, deps) =>
    routeEvent(event, { ...deps, out: deps.out ?? ctx.out, configPath: ctx.options.configPath, hook: 'dhclient-hook', verbose: ctx.options.verbose }),
  run: async (argv, options) => (await import('../../lib/exec/run.js')).run(argv, options),
  announce: (config, scope) => announceEvent(config.socketPath, scope),
  endAnnouncement,
});

const V4_UP = new Set(['BOUND', 'RENEW', 'REBIND', 'REBOOT']);

/**
 * The dhclient-script steps that must still run for a handled reason (its
 * case statement will not): set_hostname where it calls it, and
 * make_resolv_conf where it calls it unless dnsmasq owns DNS.
 */
export function stockCalls(hook: DhclientHook, env: NodeJS.ProcessEnv, dnsmasqMode: boolean): string[] {
  const calls: string[] = [];
  const v4Up = V4_UP.has(hook.reason);
  const v6Up =
    hook.reason === 'BOUND6' ||
    ((hook.reason === 'RENEW6' || hook.reason === 'REBIND6') &&
      (env.new_dhcp6_name_servers !== env.old_dhcp6_name_servers || env.new_dhcp6_domain_search !== env.old_dhcp6_domain_search));
  if (!dnsmasqMode && (v4Up || hook.reason === 'TIMEOUT' || v6Up)) calls.push('make_resolv_conf');
  if (v4Up) calls.push('set_hostname');
  return calls;
}

/** Runs the hook; returns the exit code and prints the outcome lines through ctx.out. */
export async function runDhclientHook(ctx: CommandContext, deps: DhclientHookDeps = defaultsFor(ctx)): Promise<number> {
  const { log } = ctx;
  const say = (...lines: string[]) => ctx.out(lines.map((l) => `${l}\n`).join(''));
  let config: Config | undefined;
  try {
    config = ctx.config();
  } catch (err) {
    log.error(`config: ${(err as Error).message}; leaving this event to dhclient-script`);
    return 1;
  }
  if (config.dnsmasqMode) say('resolv=keep');

  // The daemon reads what the event will touch while this process parses it
  // (lib/delegate/prefetch.ts); also dry, so the build's dry training run compiles it.
  const scope = eventScope(ctx.env);
  if (scope && deps.announce && !isIgnored(config, scope.ifname)) await deps.announce(config, scope);
  try {
    return await handleReason(ctx, deps, config, say);
  } finally {
    deps.endAnnouncement?.();
  }
}

/** Parses the environment and handles its reason with the loaded config. */
async function handleReason(ctx: CommandContext, deps: DhclientHookDeps, config: Config, say: (...lines: string[]) => void): Promise<number> {
  const { log } = ctx;
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

  // Every half lease, mostly with nothing of ours changed (lib/dhcp/renewal.ts);
  // asked before the dry-run test so the build's dry training run compiles it.
  if (leftToScript(hook, ctx.env, config) && !ctx.options.dryRun) {
    (log.local ?? log.info)('renewal changes nothing of ours: left to dhclient-script (address lifetime)', fields);
    say('outcome=pass');
    return 0;
  }

  trace('renewal checked');
  const handleOptions = { config, log, dryRun: ctx.options.dryRun, out: writeStderr };
  let failure: Error | undefined;
  let up: AddressUp | undefined;
  // The servers go with the last event (not TIMEOUT's: its probe may yet
  // empty them), so a daemon writes them in the same round trip.
  const dnsWithEvent = config.dnsmasqMode && hook.dns && !hook.probe ? hook.dns : undefined;
  let dnsDone = false;
  for (const [i, event] of hook.events.entries()) {
    const withDns = dnsWithEvent && i === hook.events.length - 1 ? { dns: dnsWithEvent } : {};
    try {
      dnsDone = (await deps.handle(event, { ...handleOptions, ...withDns })).dnsDone === true;
      if (event.kind === 'address-up') up = event;
    } catch (err) {
      failure = err as Error;
      if (err instanceof DelegatedFailure) dnsDone = err.dnsDone;
      else log.error(`routing not configured: ${failure.message}`, fields);
      break;
    }
  }

  // TIMEOUT: the recorded lease is only kept if its first router answers.
  let unusable = false;
  if (!failure && hook.probe && up && !ctx.options.dryRun) {
    const ping = await deps.run(['ping', '-q', '-n', '-c', '1', '-W', '2', '-I', hook.ifname, hook.probe.text], { reject: false, timeoutMs: 10_000 });
    if (ping.exitCode !== 0) {
      unusable = true;
      log.warn('recorded lease unusable: its router does not answer; removing it', { ...fields, router: hook.probe.text });
      const down: RoutingEvent = { kind: 'address-down', source: 'dhclient', ifname: hook.ifname, address: up.address, manageAddress: true, soleLease: true };
      try {
        await deps.handle(down, handleOptions);
      } catch (err) {
        failure = err as Error;
        if (!(err instanceof DelegatedFailure)) log.error(`could not remove the unusable lease: ${failure.message}`, fields);
      }
    }
  }

  // DNS also after a routing failure: dhclient-script then configures the
  // address itself, and the servers (bound to the interface) work with it.
  if (config.dnsmasqMode && hook.dns && !dnsDone) {
    const dns = unusable ? { ...hook.dns, servers: [] } : hook.dns;
    try {
      await updateInterfaceServers(dns, {
        serversFile: config.dnsmasqServersFile,
        pidFile: config.dnsmasqPidFile,
        log,
        dryRun: ctx.options.dryRun,
      });
    } catch (err) {
      log.error(`dnsmasq servers not updated: ${(err as Error).message}`, fields);
    }
  }

  if (failure) return 1;
  if (unusable) {
    say('outcome=unusable');
    return 0;
  }
  say(...stockCalls(hook, ctx.env, config.dnsmasqMode).map((c) => `call=${c}`), 'outcome=handled');
  return 0;
}

export const dhclientHookCommand: Command = {
  summary: 'dhclient enter hook: per-address tables, rules and dnsmasq servers for DHCP and DHCPv6 leases',
  usage: 'dhclient-hook       (environment from dhclient-script: reason, interface, new_*, old_*; run by the enter-hook shim)',
  run: (ctx) => runDhclientHook(ctx),
};
