import { parseIp, type Family } from '../net/address.js';
import { parseIfname } from '../net/ifname.js';
import { parseFlags, UsageError, type Command, type CommandContext } from './context.js';

// `multihomed-routing lease …`: the allocator client for the operator and for
// shell hooks. `lease request` prints the table, or 0 after its retries when
// none could be had (exit 0: the caller falls back to main, as every client of the protocol does).

const KEY_FLAGS = { '-4': 'bool', '-6': 'bool', '--ifname': 'string', '--address': 'string' } as const;

function positiveInt(flags: Record<string, string | boolean>, name: string, min: number): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n < min) throw new UsageError(`${name}: expected a whole number >= ${min}, received ${JSON.stringify(v)}`);
  return n;
}

/** Reads -4|-6, --ifname and --address; the family may also come from the address. */
function parseKey(flags: Record<string, string | boolean>) {
  if (flags['-4'] && flags['-6']) throw new UsageError('give -4 or -6, not both');
  const family: Family | undefined = flags['-4'] ? 4 : flags['-6'] ? 6 : undefined;
  if (typeof flags['--ifname'] !== 'string') throw new UsageError('--ifname is required');
  if (typeof flags['--address'] !== 'string') throw new UsageError('--address is required');
  try {
    return { ifname: parseIfname(flags['--ifname']), address: parseIp(flags['--address'], family) };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function request(ctx: CommandContext, args: string[]): Promise<number> {
  const { flags, positional } = parseFlags(args, {
    ...KEY_FLAGS,
    '--tag': 'string',
    '--attempts': 'string',
    '--retry-delay': 'string',
    '--timeout': 'string',
  });
  if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
  const key = parseKey(flags);
  const tag = typeof flags['--tag'] === 'string' ? flags['--tag'] : undefined;
  const { requestTable, AllocatorError } = await import('../allocator/client.js');
  const config = ctx.config();
  let table: number;
  try {
    table = await requestTable(config, tag === undefined ? key : { ...key, tag }, {
      attempts: positiveInt(flags, '--attempts', 1),
      retryDelayMs: positiveInt(flags, '--retry-delay', 0),
      timeoutMs: positiveInt(flags, '--timeout', 1),
      onError: (err, attempt) => ctx.log.warn(`lease request failed: ${err.message}`, { attempt, ifname: key.ifname, address: key.address.text }),
    });
  } catch (err) {
    if (err instanceof AllocatorError) throw new UsageError(err.message);
    throw err;
  }
  if (table === 0) ctx.log.error('no table lease; the caller falls back to the main table', { ifname: key.ifname, address: key.address.text });
  ctx.out(`${table}\n`);
  return 0;
}

async function release(ctx: CommandContext, args: string[]): Promise<number> {
  const { flags, positional } = parseFlags(args, { ...KEY_FLAGS, '--timeout': 'string' });
  if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
  const key = parseKey(flags);
  const { releaseTable } = await import('../allocator/client.js');
  const released = await releaseTable(ctx.config(), key, { timeoutMs: positiveInt(flags, '--timeout', 1) });
  ctx.log.info(released ? 'lease released' : 'no lease to release', { ifname: key.ifname, address: key.address.text });
  return 0;
}

async function list(ctx: CommandContext, args: string[]): Promise<number> {
  const { flags, positional } = parseFlags(args, { '--json': 'bool', '--timeout': 'string' });
  if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
  const { listLeases } = await import('../allocator/client.js');
  const leases = await listLeases(ctx.config(), { timeoutMs: positiveInt(flags, '--timeout', 1) });
  if (flags['--json']) {
    const rows = leases.map((l) => ({
      ifname: l.ifname,
      address: l.address.text,
      addr_family: l.address.family,
      table: l.table,
      lease_expires: l.expires,
      ...(l.tag !== undefined ? { tag: l.tag } : {}),
    }));
    ctx.out(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const rows = [['TABLE', 'FAMILY', 'IFNAME', 'ADDRESS', 'EXPIRES', 'TAG']];
  for (const l of leases) {
    rows.push([String(l.table), `ipv${l.address.family}`, l.ifname, l.address.text, new Date(l.expires * 1000).toISOString(), l.tag ?? '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  ctx.out(rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
  if (!leases.length) ctx.out('(no leases)\n');
  return 0;
}

export const leaseCommand: Command = {
  summary: 'request, release or list routing-table leases from the allocator daemon',
  usage: [
    'lease request -4|-6 --ifname IFACE --address ADDR [--tag TAG] [--attempts N] [--retry-delay MS] [--timeout MS]',
    '      prints the table, or 0 when none could be had after N tries (default 5, 2000 ms apart)',
    'lease release -4|-6 --ifname IFACE --address ADDR',
    'lease list [--json]',
  ].join('\n'),
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    if (sub === 'request') return request(ctx, rest);
    if (sub === 'release') return release(ctx, rest);
    if (sub === 'list') return list(ctx, rest);
    throw new UsageError(sub ? `unknown lease subcommand ${sub}` : 'lease needs a subcommand');
  },
};
