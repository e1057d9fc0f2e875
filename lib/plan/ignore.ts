// ignore_interfaces, in a module of its own: hooks ask it before anything
// else, and a job the daemon applies (lib/dispatch) must not load the planner in the hook.

import type { Config } from '../config/schema.js';
import { ifnameMatches } from '../net/ifname.js';

export function isIgnored(config: Config, ifname: string): boolean {
  return config.ignoreInterfaces.some((p) => ifnameMatches(p, ifname));
}
