import { dirname } from 'node:path';
import { parseFlags, UsageError, type Command, type CommandContext } from '../cli/context.js';
import { fileKeys, liveConfig, type LiveConfig } from '../config/live.js';
import type { Config } from '../config/schema.js';
import type { HandoverHook } from './handover.js';
import type { Service } from './service.js';
import { handoverDir, type HookKind } from '../proc/hook-process.js';
import type { EventsService } from '../events/service.js';

// `multihomed-routing daemon`: runs the daemon's services in the foreground
// (systemd runs it as a simple service, socket-activated: it serves the
// socket systemd passes, lib/daemon/activation.ts, and makes its own when
// started without one) until SIGTERM or SIGINT, then closes
// each one cleanly (the allocator flushes its store). Services: the table
// allocator (before the socket listens, it claims the tables the kernel uses
// that its store lacks), the event service (hooks' jobs, lib/dispatch), the
// socket serving both (lib/daemon/socket.ts), then the kernel watcher
// (lib/watch, config watch_kernel), which renews, claims and releases leases
// in-process. Last, the hook hand-over FIFO (lib/daemon/handover.ts): it
// runs the hooks' own commands, which hooks/main.ts hands in (lib does not
// import hooks/). SIGHUP (`systemctl reload`) re-reads the config file: the
// next event and watcher pass use it (lib/config/live.ts). Unless
// health_check = no, the upstream health probes (lib/health) run too: every
// plan of the daemon ranks their down uplinks last.

/** The hooks the daemon serves through the hand-over FIFO. */
export type HandoverHooks = Partial<Record<HookKind, HandoverHook>>;

/** Starts every service of the daemon, in order. */
async function startServices(ctx: CommandContext, live: LiveConfig, idleTimeoutMs: number | undefined, hooks: HandoverHooks, events: EventsService): Promise<Service[]> {
  const config = live.current();
  const { claimSocketPath, prepareSocketDir, serveSocket } = await import('./socket.js');
  const { startAllocator } = await import('../allocator/allocator.js');
  const { startEventService } = await import('../dispatch/service.js');
  const { eventsSocketCommand } = await import('../events/stream.js');
  const started: Service[] = [events]; // closed last: the scripts still see the daemon stopping
  const start = async <T extends Service>(service: Promise<T> | T): Promise<T> => {
    const s = await service;
    started.push(s);
    return s;
  };
  // Started by multihomed-routing.socket: systemd listens already, and only one of us runs.
  const { takeListenFds } = await import('./activation.js');
  const inherited = takeListenFds(process.env, process.pid);
  try {
    if (inherited) {
      prepareSocketDir(dirname(config.socketPath)); // the same guard: root's directory, 0700
      ctx.log.info('socket inherited from systemd', { fd: inherited.fd, ...(inherited.extra ? { ignored_fds: inherited.extra } : {}) });
    } else {
      // Socket path first: a second daemon must refuse before it touches the store.
      await claimSocketPath(config.socketPath);
    }
    const allocator = await start(
      startAllocator({
        config, log: ctx.log, onRefused: events.refused,
        // Tables the kernel uses are leases, whatever the store says (lib/allocator/kernel-claims.ts).
        kernelLeases: async () => {
          const [{ readState }, { kernelLeases }] = await Promise.all([import('../state/read.js'), import('../allocator/kernel-claims.js')]);
          return kernelLeases(await readState({ families: [4, 6], runDir: config.runDir }), config);
        },
      }),
    );
    let health: { downKeys(): ReadonlySet<string> } | undefined;
    const { startMetricsFile } = await import('../events/metrics-file.js');
    const metrics = await start(startMetricsFile({ config, current: live.current, log: ctx.log, events, leases: () => allocator.table.list().length }));
    const jobs = await start(startEventService({ config: live, log: ctx.log, allocator, down: () => health?.downKeys() ?? new Set(), onJob: metrics.job }));
    const socket = await serveSocket({ path: config.socketPath, log: ctx.log, idleTimeoutMs, commands: { ...allocator.commands, event: jobs.command, events: eventsSocketCommand(events.emitter) }, ...(inherited ? { fd: inherited.fd } : {}) });
    started.push({ name: 'socket', close: () => socket.close() });
    ctx.log.info('allocator listening', { socket: config.socketPath, tables: `${config.tableMin}-${config.tableMax}`, lease_time: config.leaseTime });
    if (config.watchKernel) {
      const { startWatcher } = await import('../watch/watcher.js');
      await start(startWatcher({ config, current: live.current, log: ctx.log, allocator, handle: jobs.handle, ip: jobs.ip, forwarding: true, events }));
    }
    if (config.health.check) {
      const { startHealth } = await import('../health/service.js');
      health = await start(startHealth({ config, current: live.current, log: ctx.log, allocator, handle: jobs.handle, ip: jobs.ip, emit: (e) => events.health(e) }));
    }
    // The hand-over only saves hooks a runtime start: without it they reach the daemon over the socket.
    const { startHandover } = await import('./handover.js');
    await start(startHandover({
      dir: handoverDir(config.runDir), config: live.current, configPath: ctx.options.configPath, log: ctx.log, syslog: jobs.syslog, hooks,
      dispatch: jobs.runLocal, configCurrent: jobs.configCurrent,
    })).catch((err: Error) => ctx.log.error(`hook hand-over not started, hooks use the socket: ${err.message}`));
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

export const createDaemonCommand = (hooks: HandoverHooks): Command => ({
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
    const { startEvents } = await import('../events/service.js');
    const events = startEvents({ current: live.current, log: ctx.log });
    try {
      services = await startServices(ctx, live, idleTimeoutMs, hooks, events);
    } catch (err) {
      process.off('SIGHUP', onHup);
      ctx.log.error((err as Error).message);
      return 1;
    }
    ctx.log.info('daemon started', { pid: process.pid, services: services.map((s) => s.name).join(',') });
    events.started(`pid ${process.pid}`);
    const received = await signal;
    ctx.log.info('daemon stopping', { signal: received });
    events.emitter.emit({ type: 'daemon-stopping', reason: `${received} received` });
    const clean = await closeServices(ctx, services);
    process.off('SIGHUP', onHup);
    return clean ? 0 : 1;
  },
});
