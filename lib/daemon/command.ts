import { parseFlags, UsageError, type Command, type CommandContext } from '../cli/context.js';
import type { AllocatorService, Service } from '../allocator/server.js';
import type { DelegateService } from '../delegate/service.js';

// `multihomed-routing daemon`: runs the daemon's services in the foreground
// (systemd runs it as a simple service) until SIGTERM or SIGINT, then closes
// each one cleanly (the allocator flushes its store). Services: the table
// allocator (before it listens, it claims the tables the kernel uses that its
// store lacks), then the kernel watcher (lib/watch, config watch_kernel),
// which renews, claims and releases leases in-process.

/** Starts every service of the daemon, in order. */
async function startServices(ctx: CommandContext, idleTimeoutMs: number | undefined): Promise<Service[]> {
  const config = ctx.config();
  const { startAllocator } = await import('../allocator/server.js');
  const { startDelegate } = await import('../delegate/service.js');
  let allocator: AllocatorService | undefined;
  let delegate: DelegateService | undefined;
  const starters: (() => Promise<Service>)[] = [
    async () =>
      (allocator = await startAllocator({
        config, log: ctx.log, idleTimeoutMs,
        // Tables the kernel uses are leases, whatever the store says (lib/allocator/kernel-claims.ts).
        kernelLeases: async () => {
          const [{ readState }, { kernelLeases }] = await Promise.all([import('../state/read.js'), import('../allocator/kernel-claims.js')]);
          return kernelLeases(await readState({ families: [4, 6], runDir: config.runDir }), config);
        },
        // Hooks hand their routing events to the daemon (lib/delegate).
        onEvent: (o, connection) => (delegate ? delegate.onEvent(o, connection) : Promise.resolve({ version: 1, cmd: 'response', error: 'the daemon is starting' })),
        onPrefetch: (o, connection) => delegate?.onPrefetch(o, connection),
      })),
    async () => (delegate = startDelegate({ config, configPath: ctx.options.configPath, log: ctx.log, allocator: allocator!, verbose: ctx.options.verbose })),
  ];
  if (config.watchKernel) {
    starters.push(async () =>
      (await import('../watch/watcher.js')).startWatcher({ config, log: ctx.log, allocator: allocator!, manageSlaac: config.manageSlaac, handle: delegate!.handle, ip: delegate!.ip }),
    );
  }
  const started: Service[] = [];
  try {
    for (const start of starters) started.push(await start());
  } catch (err) {
    await closeServices(ctx, started); // a half-started daemon leaves nothing running
    throw err;
  }
  return started;
}

/** Closes services in reverse order; false when one did not close cleanly. */
async function closeServices(ctx: CommandContext, services: readonly Service[]): Promise<boolean> {
  let clean = true;
  for (const service of [...services].reverse()) {
    try {
      await service.close();
    } catch (err) {
      ctx.log.error(`${service.name} did not close cleanly: ${(err as Error).message}`);
      clean = false;
    }
  }
  return clean;
}

const waitForSignal = () =>
  new Promise<NodeJS.Signals>((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });

export const daemonCommand: Command = {
  summary: 'run the daemon (table allocator, kernel watcher) in the foreground until SIGTERM',
  usage: 'daemon [--idle-timeout-ms MS]',
  async run(ctx) {
    const { flags, positional } = parseFlags(ctx.args, { '--idle-timeout-ms': 'string' });
    if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
    let idleTimeoutMs: number | undefined;
    if (flags['--idle-timeout-ms'] !== undefined) {
      idleTimeoutMs = Number(flags['--idle-timeout-ms']);
      if (!Number.isSafeInteger(idleTimeoutMs) || idleTimeoutMs < 1) {
        throw new UsageError(`--idle-timeout-ms: expected a positive whole number, received ${JSON.stringify(flags['--idle-timeout-ms'])}`);
      }
    }
    const signal = waitForSignal(); // listen before starting: a quick SIGTERM still closes cleanly
    let services: Service[];
    try {
      services = await startServices(ctx, idleTimeoutMs);
    } catch (err) {
      ctx.log.error((err as Error).message);
      return 1;
    }
    ctx.log.info('daemon started', { pid: process.pid, services: services.map((s) => s.name).join(',') });
    const received = await signal;
    ctx.log.info('daemon stopping', { signal: received });
    return (await closeServices(ctx, services)) ? 0 : 1;
  },
};
