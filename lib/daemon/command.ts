import { parseFlags, UsageError, type Command, type CommandContext } from '../cli/context.js';
import { fileKeys, liveConfig, type LiveConfig } from '../config/live.js';
import type { Config } from '../config/schema.js';
import type { Service } from './service.js';

// `multihomed-routing daemon`: runs the daemon's services in the foreground
// (systemd runs it as a simple service) until SIGTERM or SIGINT, then closes
// each one cleanly (the allocator flushes its store). Services: the table
// allocator (before the socket listens, it claims the tables the kernel uses
// that its store lacks), the event service (hooks' jobs, lib/dispatch), the
// socket serving both (lib/daemon/socket.ts), then the kernel watcher
// (lib/watch, config watch_kernel), which renews, claims and releases leases
// in-process. SIGHUP (`systemctl reload`) re-reads the config file: the
// next event and watcher pass use it (lib/config/live.ts).

/** Starts every service of the daemon, in order. */
async function startServices(ctx: CommandContext, live: LiveConfig, idleTimeoutMs: number | undefined): Promise<Service[]> {
  const config = live.current();
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
    const events = await start(startEventService({ config: live, log: ctx.log, allocator }));
    const socket = await serveSocket({ path: config.socketPath, log: ctx.log, idleTimeoutMs, commands: { ...allocator.commands, event: events.command } });
    started.push({ name: 'socket', close: () => socket.close() });
    ctx.log.info('allocator listening', { socket: config.socketPath, tables: `${config.tableMin}-${config.tableMax}`, lease_time: config.leaseTime });
    if (config.watchKernel) {
      const { startWatcher } = await import('../watch/watcher.js');
      await start(startWatcher({ config, current: live.current, log: ctx.log, allocator, handle: events.handle, ip: events.ip }));
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

/** SIGHUP: re-read the config; one that does not parse leaves the one in use. */
function reload(ctx: CommandContext, live: LiveConfig) {
  const r = live.reload();
  if (!r.ok) {
    ctx.log.error(`config not reloaded, the daemon keeps the one in use: ${r.error}`);
    return;
  }
  const keys = (ks: readonly (keyof Config)[]) => fileKeys(ks).join(' ') || 'none';
  ctx.log.info('config reloaded', { path: live.path, changed: keys(r.changed) });
  if (r.restart.length) {
    ctx.log.warn(`config reloaded, but ${keys(r.restart)} take effect only when the daemon restarts; until then hooks work alone`, { path: live.path });
  }
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
    let live: LiveConfig;
    try {
      live = liveConfig(ctx.options.configPath, ctx.config());
    } catch (err) {
      ctx.log.error((err as Error).message);
      return 1;
    }
    const onHup = () => reload(ctx, live);
    process.on('SIGHUP', onHup); // also replaces Node's default for SIGHUP: exit
    try {
      services = await startServices(ctx, live, idleTimeoutMs);
    } catch (err) {
      process.off('SIGHUP', onHup);
      ctx.log.error((err as Error).message);
      return 1;
    }
    ctx.log.info('daemon started', { pid: process.pid, services: services.map((s) => s.name).join(',') });
    const received = await signal;
    ctx.log.info('daemon stopping', { signal: received });
    const clean = await closeServices(ctx, services);
    process.off('SIGHUP', onHup);
    return clean ? 0 : 1;
  },
};
