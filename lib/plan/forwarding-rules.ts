// Which of our rules serve forwarded traffic rather than one address: the
// fwmark rules at rule_pref_fwmark (connection marks: replies of inbound
// connections, forwarded ones kept on their uplink) and the pins from
// rule_pref_pin on (one priority per rule, at most PIN_SPAN). They
// look up uplink tables, but the index must not take them for an address's
// own rules (a pin's `from 10.50.0.0/24` is no address of ours).

import type { Config } from '../config/schema.js';
import type { Rule } from '../state/types.js';

/** Priorities the pinning rules may take, from rule_pref_pin on (they stay below the band at 31000 by default). */
export const PIN_SPAN = 800;

export type ForwardingPrefs = Pick<Config, 'prefFwmark' | 'prefPin'>;

export function isPinPref(config: Partial<ForwardingPrefs>, priority: number): boolean {
  return config.prefPin !== undefined && priority >= config.prefPin && priority < config.prefPin + PIN_SPAN;
}

/** A rule of ours (the caller checks the protocol) that is a pin or an fwmark rule. */
export function isForwardingRule(config: Partial<ForwardingPrefs>, rule: Pick<Rule, 'priority' | 'fwmark' | 'action'>): boolean {
  return rule.fwmark !== undefined || rule.action !== undefined || isPinPref(config, rule.priority) || rule.priority === config.prefFwmark;
}
