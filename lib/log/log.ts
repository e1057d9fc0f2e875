import type { ChildProcess } from 'node:child_process';
import { writeStderr } from './fd.js';

// One line per decision, to stderr (what ifup, dhclient and udev show or
// keep) and to syslog (facility daemon, tag multihomed-routing). syslog goes
// through one logger(1) process per run, started at the first line, because
// Node cannot write to /dev/log's datagram socket itself. node:child_process
// (and the ~35 stream and net modules it loads) is imported only then
// (logger-process.ts), so `--version` never loads it.

export type Level = 'error' | 'warn' | 'info' | 'debug';
export type Fields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  error(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  debug(message: string, fields?: Fields): void;
  /**
   * An info line for the caller only (stderr), not for syslog: an outcome
   * that is no decision (a renewal that changed nothing), so a run that
   * changes nothing starts no logger(1). Optional; callers fall back to info.
   */
  local?(message: string, fields?: Fields): void;
  /**
   * Lines will follow: start logger(1) now (when syslog is on), so its start
   * overlaps work the caller waits for (the ip batch) rather than the end.
   */
  prepare?(): void;
  /** Waits until every line reached its sinks (call before exiting). */
  flush(): Promise<void>;
}

export interface LoggerOptions {
  /** Prefix on stderr, e.g. the hook name. */
  source: string;
  verbose?: boolean;
  syslog?: boolean;
  /**
   * stderr is the systemd journal (lib/log/journal.ts): each line carries its
   * level as a `<N>` prefix, which journald reads (sd-daemon(3)), and is not
   * sent through logger(1) too, so the journal has it once, at its priority.
   */
  journal?: boolean;
  /** Where formatted lines go; stderr by default. */
  write?: (line: string) => void;
  /**
   * Where syslog lines go: by default a logger(1) of this logger's own,
   * started at its first line and ended by flush; the daemon shares one
   * among the loggers of the jobs it applies.
   */
  sink?: Syslog;
}

/** One logger(1) process, started at the first line. */
export interface Syslog {
  send(level: Level, source: string, line: string): void;
  /** Starts logger(1) now, if not yet. */
  prepare(): void;
  /** Ends logger(1) once every line reached it. */
  flush(): Promise<void>;
}

const SYSLOG_LEVEL: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const FACILITY_DAEMON = 3;

/** `message key=value …`, values quoted when they hold spaces or quotes. */
export function formatLine(message: string, fields: Fields = {}): string {
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const s = String(v);
      return `${k}=${/^[^\s"'=]+$/.test(s) ? s : JSON.stringify(s)}`;
    });
  return parts.length ? `${message} ${parts.join(' ')}` : message;
}

export function createSyslog(): Syslog {
  let logger: ChildProcess | undefined;
  /** Lines written before logger(1) could be started. */
  let pending: string[] | undefined;
  let started: Promise<void> | undefined;
  let closed: Promise<void> | undefined;

  const startLogger = async () => {
    const { spawnLogger } = await import('./logger-process.js');
    logger = spawnLogger();
    closed = new Promise((resolve) => {
      logger!.on('error', () => resolve()); // no logger(1): stderr still has it
      logger!.on('close', () => resolve());
    });
    logger.stdin!.on('error', () => {});
    if (pending!.length) logger.stdin!.write(pending!.join(''));
    pending = undefined;
  };
  const start = () => {
    pending = [];
    started = startLogger().catch(() => {}); // cannot start logger(1): stderr still has it
  };

  return {
    send(level, source, line) {
      const prio = FACILITY_DAEMON * 8 + SYSLOG_LEVEL[level];
      const text = `<${prio}>${source}: ${line.replace(/\n/g, ' ')}\n`;
      if (logger) logger.stdin!.write(text);
      else {
        if (!pending) start();
        pending!.push(text);
      }
    },
    prepare() {
      if (!logger && !pending) start();
    },
    async flush() {
      await started;
      logger?.stdin?.end();
      await closed;
    },
  };
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => writeStderr(`${line}\n`));
  const own = options.sink ? undefined : createSyslog();
  const syslog = options.sink ?? own!;

  const prefix = (level: Level) => `${options.journal ? `<${SYSLOG_LEVEL[level]}>` : ''}multihomed-routing ${options.source}: `;
  const toSyslog = () => options.syslog && !options.journal;
  const emit = (level: Level) => (message: string, fields?: Fields) => {
    if (level === 'debug' && !options.verbose) return;
    const line = formatLine(message, fields);
    write(`${prefix(level)}${level === 'info' ? '' : `${level}: `}${line}`);
    if (toSyslog()) syslog.send(level, options.source, line);
  };

  return {
    error: emit('error'),
    warn: emit('warn'),
    info: emit('info'),
    debug: emit('debug'),
    local: (message, fields) => write(`${prefix('info')}${formatLine(message, fields)}`),
    prepare: () => {
      if (toSyslog()) syslog.prepare();
    },
    flush: async () => {
      await own?.flush();
    },
  };
}
