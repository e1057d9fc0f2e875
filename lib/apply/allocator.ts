// The allocator as the routing core sees it: injected, so unit tests pass a
// fake and the hooks get the real client (lib/allocator/client.ts).

import type { Config } from '../config/schema.js';
import type { Logger } from '../log/log.js';
import type { IpAddress } from '../net/address.js';
import { listLeases, releaseTable, requestTable } from '../allocator/client.js';

export interface TableAllocator {
  /** Leases (or renews) a table for (ifname, address, family); 0 = none (fall back to main). */
  requestTable(key: { ifname: string; address: IpAddress; tag?: string }): Promise<number>;
  /** Ends the lease; true when there was one. */
  releaseTable(key: { ifname: string; address: IpAddress }): Promise<boolean>;
  /** The table already leased for the key, without changing anything (dry runs); 0 when none. */
  peekTable?(key: { ifname: string; address: IpAddress }): Promise<number>;
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
