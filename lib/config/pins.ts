// The `pin` key: sources (an interface pattern, or an address prefix) bound
// to uplinks (interface patterns), parsed once into typed values here so the
// planner never sees text. Syntax, one entry per word:
//
//     SOURCE:TARGET[,TARGET…][:strict]
//
// e.g. `docker0:wwan*`, `10.50.0.0/24:eth1,eth2`, `2001:db8:50::/64:eth1`,
// `br-*:eth2:strict`. Interface names never contain ':' (the kernel refuses
// it), so a source without '/' ends at the first ':', a prefix source at the
// first ':' after its '/'.

import { parsePrefix, type IpPrefix } from '../net/address.js';

/** One pin: where forwarded traffic comes from, the uplinks it must use, and whether it may fall back to the band. */
export interface Pin {
  source: { kind: 'interface'; pattern: string } | { kind: 'prefix'; prefix: IpPrefix };
  /** Uplink name patterns; the managed uplinks they match are used in band order. */
  targets: string[];
  /** No fallback: with every pinned uplink down the traffic stops (unreachable). */
  strict: boolean;
  /** The entry as written, for status and logs. */
  text: string;
}

/** Characters of an interface name pattern: a name's (no '/', ':', white space) restricted to the usual ones, plus the wildcards. */
const PATTERN = /^[A-Za-z0-9_.@+*?-]{1,15}$/;

/** Parses one entry; returns the reason it is not one, as a string, when it is not. */
export function parsePin(text: string): Pin | string {
  const slash = text.indexOf('/');
  const cut = text.indexOf(':', slash < 0 ? 0 : slash);
  if (cut <= 0) return 'SOURCE:TARGET (an interface pattern or prefix, a colon, uplink patterns)';
  const sourceText = text.slice(0, cut);
  const [targetText = '', mode, ...extra] = text.slice(cut + 1).split(':');
  if (extra.length || (mode !== undefined && mode !== 'strict')) return `at most one option after the targets, and only "strict" (found "${text.slice(cut + 1)}")`;
  let source: Pin['source'];
  if (slash >= 0) {
    try {
      source = { kind: 'prefix', prefix: parsePrefix(sourceText) };
    } catch (err) {
      return `a source prefix: ${(err as Error).message}`;
    }
  } else if (PATTERN.test(sourceText)) source = { kind: 'interface', pattern: sourceText };
  else return `a source interface pattern of letters, digits, _ . @ + - * ? (1-15), found "${sourceText}"`;
  const targets = targetText.split(',');
  const bad = targets.find((t) => !PATTERN.test(t));
  if (bad !== undefined) return `uplink patterns separated by commas, found "${bad}"`;
  return { source, targets, strict: mode === 'strict', text };
}
