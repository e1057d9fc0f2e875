import type { Config } from '../config/schema.js';
import type { Logger } from '../log/log.js';

/** Options every command accepts before or after its name. */
export interface GlobalOptions {
  configPath: string;
  dryRun: boolean;
  verbose: boolean;
}

/** What a command gets from the entry point: its side effects are all here. */
export interface CommandContext {
  /** Arguments after the command name, global options removed. */
  args: string[];
  env: NodeJS.ProcessEnv;
  options: GlobalOptions;
  /** Loads the config file once; throws ConfigError with file, key, expected, found. */
  config(): Config;
  log: Logger;
  /** Standard output (results, plans, JSON). */
  out(text: string): void;
}

export interface Command {
  /** One line for --help. */
  summary: string;
  /** Usage lines shown by `COMMAND --help` and on a usage error. */
  usage: string;
  run(ctx: CommandContext): Promise<number>;
}

/** Wrong arguments: the entry point prints it with the usage and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Splits `--flag`, `--key value` and `--key=value` from positional arguments. */
export function parseFlags(
  args: readonly string[],
  spec: Record<string, 'bool' | 'string'>,
): { flags: Record<string, string | boolean>; positional: string[] } {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option ${name}`);
    if (kind === 'bool') {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
      flags[name] = true;
    } else {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      flags[name] = value;
    }
  }
  return { flags, positional };
}
