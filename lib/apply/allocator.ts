// The allocator as the routing core sees it: injected, so unit tests pass a
// fake and the hooks get the real client (lib/allocator/client.ts).

import type { Config } from '../config/schema.js';
import type { Logger } from '../log/log.js';
import { parseIp, type IpAddress } from '../net/address.js';
import type { KernelState } from '../state/types.js';
import { tableTakenBy } from '../allocator/kernel-claims.js';
import { listLeases, releaseTable, requestTable } from '../allocator/client.js';

export interface TableAllocator {
  /** Leases (or renews) a table for (ifname, address, family); 0 = none (fall back to main). */
  requestTable(key: { ifname: string; address: IpAddress; tag?: string }): Promise<number>;
  /** Ends the lease; true when there was one. */
  releaseTable(key: { ifname: string; address: IpAddress }): Promise<boolean>;
  /** The table already leased for the key, without changing anything (dry runs); 0 when none. */
  peekTable?(key: { ifname: string; address: IpAddress }): Promise<number>;
  /**
   * The kernel routes the live `owner` through `table`: the lease becomes
   * its own, whoever held it (the daemon's in-process allocator only).
   */
  giveTable?(owner: { ifname: string; address: IpAddress }, table: number): Promise<void>;
}

/** How many tables in a row an event may find in use by another address before it settles for main. */
const TAKEN_RETRIES = 3;

/**
 * The kernel is the truth: a table the allocator answered with while the
 * kernel routes another live (interface, address) through it (a store that
 * lost a write to kill -9, or was salvaged) is never used, since planning the
 * event into it would delete that address's rules and routes. The lease goes
 * to the kernel's owner and the event asks again; an allocator that cannot
 * move leases (the socket client) gets ours back and the event works without
 * a lease (the daemon's watcher claims the table for its owner).
 */
export async function leaseNotTaken(
  allocator: TableAllocator,
  state: KernelState,
  config: Config,
  key: { ifname: string; address: IpAddress },
  leased: number,
  log: Logger,
): Promise<number> {
  const self = { ifname: key.ifname, address: key.address.text };
  for (let attempt = 0; leased > 0; attempt++) {
    const owner = tableTakenBy(state, config, key.address.family, leased, self);
    if (!owner) return leased;
    log.warn('the leased table is the kernel\'s for another live address (the kernel is the truth): not used', { iface: key.ifname, address: self.address, table: leased, owner: `${owner.ifname} ${owner.address}` });
    if (!allocator.giveTable || attempt >= TAKEN_RETRIES) {
      await allocator.releaseTable(key).catch(() => false);
      return 0;
    }
    await allocator.giveTable({ ifname: owner.ifname, address: parseIp(owner.address) }, leased);
    leased = await allocator.requestTable(key);
  }
  return leased;
}

/**
 * The real allocator client. Imported statically (it is small: the pipe
 * exchange of lib/ipc and the protocol): a dynamic import put
 * the connect behind the state read's synchronous part, so the lease round
 * trip started milliseconds late and ended last on the hook's critical path.
 */
export function socketAllocator(config: Config, log: Logger): TableAllocator {
  return {
    requestTable(key) {
      return requestTable(config, key, {
        onError: (err, attempt) => log.warn('table allocator did not grant a table', { iface: key.ifname, address: key.address.text, attempt, error: err.message }),
      });
    },
    releaseTable(key) {
      return releaseTable(config, key);
    },
    async peekTable(key) {
      const lease = (await listLeases(config)).find((l) => l.ifname === key.ifname && l.address.text === key.address.text);
      return lease?.table ?? 0;
    },
  };
}

/**
 * No allocator: the daemon, which is the allocator, took a job and did not
 * answer (lib/dispatch/dispatch.ts). Asking it again would only add its
 * timeouts to the hook's wait, so no table is leased or released here: an
 * address the kernel already routes through a table keeps it, a new one
 * falls back to main, and the daemon's watcher settles the leases later.
 */
export function unreachableAllocator(log: Logger, why: string): TableAllocator {
  return {
    async requestTable(key) {
      log.warn('no table lease: the allocator is not answering', { iface: key.ifname, address: key.address.text, why });
      return 0;
    },
    async releaseTable() {
      return false;
    },
    async peekTable() {
      return 0;
    },
  };
}
