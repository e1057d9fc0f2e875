// ignore_interfaces, in a module of its own: hooks ask it before anything
// else, and their fast path (lib/delegate) must not load the planner.

import type { Config } from '../config/schema.js';
import { ifnameMatches } from '../net/ifname.js';

export function isIgnored(config: Config, ifname: string): boolean {
  return config.ignoreInterfaces.some((p) => ifnameMatches(p, ifname));
}
