// What a rule of ours is for, from its selectors (docs/routing.md, "Rule
// layout"). One place, read by the planner, status, the watcher and doctor.

import { TABLE_LOCAL, TABLE_MAIN, type Rule } from './types.js';

// Tables 253-255 (default, main, local) are the kernel's: never a band's.

/**
 * A band rule: `from all lookup T`, unbound local and forwarded traffic by
 * interface priority. `iif lo lookup T` (any pref, 91000+ before the band
 * served forwarded traffic) counts too, so an upgrade finds and moves it.
 */
export function isBandRule(r: Rule): boolean {
  return (
    r.table !== undefined && (r.table < 253 || r.table > TABLE_LOCAL) && !r.foreignSelectors &&
    r.fwmark === undefined && r.action === undefined && r.suppressPrefixLength === undefined && !r.src && !r.dst && r.oif === undefined && (r.iif === undefined || r.iif === 'lo')
  );
}

/** A band rule as older versions wrote it (`iif lo`): to be moved into the band. */
export const isLegacyBandRule = (r: Rule) => isBandRule(r) && r.iif === 'lo';

/** `from A lookup main` of our protocol: a degraded address (no table) uses main's fallback routes, not the band. */
export function isFallbackRule(r: Rule, protocol: number): boolean {
  return (
    r.protocol === protocol && r.table === TABLE_MAIN && r.suppressPrefixLength === undefined && !r.foreignSelectors &&
    !!r.src && !r.dst && r.iif === undefined && r.oif === undefined
  );
}

/** `lookup main suppress_prefixlength 0` of our protocol: main answers for all but its default routes. */
export function isMainSuppressRule(r: Rule, protocol: number): boolean {
  return (
    r.protocol === protocol && r.table === TABLE_MAIN && r.suppressPrefixLength === 0 && !r.foreignSelectors &&
    !r.src && !r.dst && r.iif === undefined && r.oif === undefined
  );
}
