import { parseFlags, UsageError, type Command, type CommandContext } from '../cli/context.js';
import type { Service } from './service.js';

// `multihomed-routing daemon`: runs the daemon's services in the foreground
// (systemd runs it as a simple service) until SIGTERM or SIGINT, then closes
// each one cleanly (the allocator flushes its store). Services: the table
// allocator (before the socket listens, it claims the tables the kernel uses
// that its store lacks), the event service (hooks' jobs, lib/dispatch), the
// socket serving both (lib/daemon/socket.ts), then the kernel watcher
// (lib/watch, config watch_kernel), which renews, claims and releases leases
// in-process; then, unless health_check = no, the upstream health probes
// (lib/health), whose down uplinks every plan of the daemon ranks last.

/** Starts every service of the daemon, in order. */
async function startServices(ctx: CommandContext, idleTimeoutMs: number | undefined): Promise<Service[]> {
  const config = ctx.config();
  const { claimSocketPath, serveSocket } = await import('./socket.js');
  const { startAllocator } = await import('../allocator/allocator.js');
  const { startEventService } = await import('../dispatch/service.js');
  const started: Service[] = [];
  const start = async <T extends Service>(service: Promise<T> | T): Promise<T> => {
    const s = await service;
    started.push(s);
    return s;
  };
  try {
    // Socket path first: a second daemon must refuse before it touches the store.
    await claimSocketPath(config.socketPath);
    const allocator = await start(
      startAllocator({
        config, log: ctx.log,
        // Tables the kernel uses are leases, whatever the store says (lib/allocator/kernel-claims.ts).
        kernelLeases: async () => {
          const [{ readState }, { kernelLeases }] = await Promise.all([import('../state/read.js'), import('../allocator/kernel-claims.js')]);
          return kernelLeases(await readState({ families: [4, 6], runDir: config.runDir }), config);
        },
      }),
    );
    let health: { downKeys(): ReadonlySet<string> } | undefined;
    const events = await start(startEventService({ config, configPath: ctx.options.configPath, log: ctx.log, allocator, down: () => health?.downKeys() ?? new Set() }));
    const socket = await serveSocket({ path: config.socketPath, log: ctx.log, idleTimeoutMs, commands: { ...allocator.commands, event: events.command } });
    started.push({ name: 'socket', close: () => socket.close() });
    ctx.log.info('allocator listening', { socket: config.socketPath, tables: `${config.tableMin}-${config.tableMax}`, lease_time: config.leaseTime });
    if (config.watchKernel) {
      const { startWatcher } = await import('../watch/watcher.js');
      await start(startWatcher({ config, log: ctx.log, allocator, manageSlaac: config.manageSlaac, handle: events.handle, ip: events.ip }));
    }
    if (config.health.check) {
      const { startHealth } = await import('../health/service.js');
      health = await start(startHealth({ config, log: ctx.log, allocator, handle: events.handle, ip: events.ip }));
    }
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
