// The rule priorities must keep the layout of docs/routing.md: the kernel
// walks rules by ascending priority and the first table that answers wins,
// so an address's own rules come first, then main without its defaults, then
// fwmark and pinning rules, then the band, and main's own rule (32766) last.

/** Priority of the kernel's `lookup main` rule: the band must end before it. */
export const MAIN_RULE_PREF = 32766;

/** The priority keys in the order their rules must be looked up. */
export const PREF_ORDER = ['rule_pref_from', 'rule_pref_oif', 'rule_pref_to', 'rule_pref_main', 'rule_pref_fwmark', 'rule_pref_pin', 'rule_pref_default'] as const;

export interface OrderProblem {
  /** The key to change (one the file sets, where possible). */
  key: string;
  expected: string;
}

/**
 * The first priority out of order, or undefined. `prefs` by key, `tables`:
 * how many tables table_range holds (the band has at most one rule per
 * table), `given`: the keys the file sets.
 */
export function ruleOrderProblem(prefs: Readonly<Record<string, number>>, tables: number, given: (key: string) => boolean): OrderProblem | undefined {
  const order = PREF_ORDER.map((k) => `${k.slice('rule_pref_'.length)}`).join(' < ');
  if (prefs.rule_pref_from! < 1) return { key: 'rule_pref_from', expected: 'at least 1 (priority 0 is the local table\'s rule)' };
  for (let i = 1; i < PREF_ORDER.length; i++) {
    const [before, key] = [PREF_ORDER[i - 1]!, PREF_ORDER[i]!];
    if (prefs[key]! > prefs[before]!) continue;
    const blame = given(key) || !given(before) ? key : before;
    const other = blame === key ? before : key;
    const side = blame === key ? 'more' : 'less';
    return { key: blame, expected: `${side} than ${other} (${prefs[other]}): rules are looked up in the order ${order}` };
  }
  const last = prefs.rule_pref_default! + tables - 1;
  if (last >= MAIN_RULE_PREF) {
    const blame = given('table_range') && !given('rule_pref_default') ? 'table_range' : 'rule_pref_default';
    return {
      key: blame,
      expected: `room for the band before main's rule at ${MAIN_RULE_PREF}: rule_pref_default + the ${tables} tables of table_range must stay below ${MAIN_RULE_PREF} (the band would reach ${last}; main's default routes would then win over it)`,
    };
  }
  return undefined;
}
