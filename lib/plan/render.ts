// Turns changes into `ip` argument vectors (after `ip -4|-6`, or one line of
// `ip -batch -`) and into the text --dry-run prints.

import { formatCommand } from '../exec/run.js';
import { SCOPE_LINK, TABLE_MAIN } from '../state/types.js';
import type { Change, RouteSpec, RuleSpec } from './change.js';

function routeArgs(verb: 'add' | 'del', r: RouteSpec): string[] {
  const args = ['route', verb, r.dst.length === 0 ? 'default' : r.dst.text];
  if (r.gateway) args.push('via', r.gateway.text);
  args.push('dev', r.dev, 'table', String(r.table), 'proto', String(r.protocol));
  if (r.scope === SCOPE_LINK) args.push('scope', 'link');
  if (r.prefsrc) args.push('src', r.prefsrc.text);
  args.push('metric', String(r.metric));
  if (r.onlink && verb === 'add') args.push('onlink');
  return args;
}

function ruleArgs(verb: 'add' | 'del', r: RuleSpec): string[] {
  const args = ['rule', verb, 'pref', String(r.priority)];
  if (r.src) args.push('from', r.src.text);
  if (r.dst) args.push('to', r.dst.text);
  if (r.iif !== undefined) args.push('iif', r.iif);
  if (r.oif !== undefined) args.push('oif', r.oif);
  if (r.fwmark) args.push('fwmark', `0x${r.fwmark.value.toString(16)}/0x${r.fwmark.mask.toString(16)}`);
  if (r.action) args.push(r.action);
  else args.push('lookup', r.table === TABLE_MAIN ? 'main' : String(r.table));
  if (r.suppressPrefixLength !== undefined) args.push('suppress_prefixlength', String(r.suppressPrefixLength));
  args.push('protocol', String(r.protocol));
  return args;
}

/** The `ip` arguments of a change (without the family flag); undefined for sysctl changes. */
export function ipArgs(change: Change): string[] | undefined {
  switch (change.kind) {
    case 'add-route':
      return routeArgs('add', change.route);
    case 'del-route':
      return routeArgs('del', change.route);
    case 'add-rule':
      return ruleArgs('add', change.rule);
    case 'del-rule':
      return ruleArgs('del', change.rule);
    case 'add-address':
    case 'change-address': {
      const args = ['address', change.kind === 'add-address' ? 'add' : 'change', change.address.address.text + '/' + change.address.prefix.length];
      if (change.broadcast) args.push('broadcast', change.broadcast.text);
      args.push('dev', change.ifname);
      if (change.validLifetime !== undefined) args.push('valid_lft', String(change.validLifetime));
      if (change.preferredLifetime !== undefined) args.push('preferred_lft', String(change.preferredLifetime));
      if (change.noprefixroute) args.push('noprefixroute');
      return args;
    }
    case 'del-address':
      return ['address', 'del', change.address.address.text + '/' + change.address.prefix.length, 'dev', change.ifname];
    case 'set-mtu':
      return ['link', 'set', 'dev', change.ifname, 'mtu', String(change.mtu)];
    default:
      return undefined;
  }
}

/** One line for --dry-run and the log: the command and why. */
export function describeChange(change: Change): string {
  const args = ipArgs(change);
  let what: string;
  if (args) {
    const family = 'route' in change ? change.route.family : 'rule' in change ? change.rule.family : 'address' in change ? change.address.address.family : 4;
    what = formatCommand(['ip', `-${family}`, ...args]);
  } else if (change.kind === 'set-sysctl') {
    what = `sysctl ${change.key.replace(/\//g, '.')}=${change.value} (was ${change.previous}${change.save ? ', saved' : ''})`;
  } else what = `forget saved sysctls of ${change.subject.ifname}`;
  return `${what}  # ${change.reason}`;
}
