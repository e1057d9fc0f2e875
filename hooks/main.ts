// The single entry point of the multihomed-routing executable. Every caller
// (ifupdown, dhclient-script, udev, systemd, the operator) comes in here and
// names a command; each command's module is loaded only when it is called,
// so a hook's start-up does not pay for the daemon or the CLI.

import { configPath, loadConfig } from '../lib/config/load.js';
import type { Config } from '../lib/config/schema.js';
import { UsageError, type Command, type CommandContext } from '../lib/cli/context.js';
import { writeStdout } from '../lib/log/fd.js';
import { createLogger } from '../lib/log/log.js';
import { stderrIsJournal } from '../lib/log/journal.js';
import { trace, tracing } from '../lib/trace/trace.js';

declare const __VERSION__: string;
export const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : 'dev';

/** Command name → loader. Add a command by adding a line here. */
export const COMMANDS: Record<string, () => Promise<Command>> = {
  config: async () => (await import('../lib/cli/config-command.js')).configCommand,
  'dhclient-hook': async () => (await import('./dhclient/command.js')).dhclientHookCommand,
  ifupdown: async () => (await import('./ifupdown/command.js')).ifupdownCommand,
  status: async () => (await import('../lib/cli/status-command.js')).statusCommand,
  // The daemon runs the hooks' commands for a hook that hands its event over (lib/daemon/handover.ts).
  daemon: async () =>
    (await import('../lib/daemon/command.js')).createDaemonCommand({
      'dhclient-hook': async (ctx, dispatch) => {
        const [{ runDhclientHook }, { run }] = await Promise.all([import('./dhclient/command.js'), import('../lib/exec/run.js')]);
        return runDhclientHook(ctx, { dispatch, run });
      },
      ifupdown: async (ctx, dispatch) => (await import('./ifupdown/command.js')).runIfupdown(ctx, dispatch),
    }),
  lease: async () => (await import('../lib/cli/lease-command.js')).leaseCommand,
  events: async () => (await import('../lib/cli/events-command.js')).eventsCommand,
  doctor: async () => (await import('../lib/cli/doctor-command.js')).doctorCommand,
  help: async () => (await import('../lib/cli/help-command.js')).helpCommand(COMMANDS, VERSION),
  cleanup: async () => (await import('../lib/cli/cleanup-command.js')).cleanupCommand,
  'udev-remove': async () => (await import('./udev/command.js')).udevRemoveCommand,
  demo: async () => (await import('../lib/demo/command.js')).demoCommand,
};

function usage(): string {
  return [
    `usage: multihomed-routing [--config PATH] [--dry-run] [--verbose] COMMAND [ARGS]`,
    '',
    'commands:',
    ...Object.keys(COMMANDS).map((name) => `  ${name}`),
    '',
    "'multihomed-routing COMMAND --help' describes a command.",
  ].join('\n');
}

/** Runs one invocation; returns the exit code. Errors become exit codes only here. */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  trace('runtime started, bundle evaluated');
  const rest: string[] = [];
  let flagConfig: string | undefined;
  let dryRun = false;
  let verbose = false;
  let wantsHelp = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config') flagConfig = argv[++i];
    else if (a.startsWith('--config=')) flagConfig = a.slice('--config='.length);
    else if (a === '--dry-run' || a === '-n') dryRun = true;
    else if (a === '--verbose' || a === '-v') verbose = true;
    else if (a === '--help' || a === '-h') wantsHelp = true;
    else if (a === '--version' && rest.length === 0) {
      writeStdout(`multihomed-routing ${VERSION}\n`);
      return 0;
    } else rest.push(a);
  }
  const [name, ...args] = rest;
  if (!name) {
    (wantsHelp ? process.stdout : process.stderr).write(`${usage()}\n`);
    return wantsHelp ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`multihomed-routing: unknown command ${JSON.stringify(name)}\n${usage()}\n`);
    return 2;
  }
  const command = await load();
  trace(`command ${name} loaded`);
  if (wantsHelp) {
    process.stdout.write(`multihomed-routing ${name}: ${command.summary}\n\nusage:\n${indent(command.usage)}\n`);
    return 0;
  }
  const options = { configPath: configPath(flagConfig, env), dryRun, verbose };
  let config: Config | undefined;
  const log = createLogger({ source: name, verbose, journal: stderrIsJournal(env), get syslog() { return syslogWanted(); } });
  const ctx: CommandContext = {
    args,
    env,
    options,
    config: () => {
      if (!config) {
        config = loadConfig(options.configPath);
        trace('config loaded');
      }
      return config;
    },
    log,
    out: writeStdout,
  };
  // Asked at each line: a line logged before the command loaded the config (refused
  // hook input) still honours `syslog = no`, and an unreadable config does not
  // silence syslog (the default is yes).
  const syslogWanted = (): boolean => {
    try {
      return ctx.config().syslog;
    } catch {
      return true;
    }
  };
  try {
    const code = await command.run(ctx);
    trace('command done');
    return code;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`multihomed-routing ${name}: ${err.message}\nusage:\n${indent(command.usage)}\n`);
      return 2;
    }
    log.error(err instanceof Error ? err.message : String(err));
    return 1;
  } finally {
    await log.flush();
    trace('log flushed');
  }
}

const indent = (text: string) => text.replace(/^/gm, '  ');

// Run when this is the bundle's entry (the executable), not when imported by tests.
if (typeof __VERSION__ === 'string') {
  if (tracing) process.on('exit', () => trace('exit'));
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`multihomed-routing: ${err?.stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
