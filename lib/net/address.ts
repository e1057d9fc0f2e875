// Typed IP addresses and prefixes. Every address that reaches a command line
// or a file is parsed here first; the text we emit is the canonical form that
// iproute2 prints, so values from hooks and from `ip -json` compare equal.

import { isCanonicalDecimal, isHexDigits } from '../text/lex.js';

export type Family = 4 | 6;

export interface IpAddress {
  readonly family: Family;
  /** The address as a number: 32 bits for IPv4, 128 for IPv6. */
  readonly value: bigint;
  /** Canonical text: dotted quad, or RFC 5952 compressed IPv6. */
  readonly text: string;
}

export interface IpPrefix {
  /** The network address (host bits cleared). */
  readonly network: IpAddress;
  readonly length: number;
  /** `network/length`, canonical. */
  readonly text: string;
}

/** An address with the prefix length it was configured with (`A/len`). */
export interface IpInterfaceAddress {
  readonly address: IpAddress;
  readonly prefix: IpPrefix;
}

/** Thrown for any text that is not what was expected; says what was received. */
export class AddressError extends Error {
  constructor(expected: string, received: string) {
    super(`expected ${expected}, received ${JSON.stringify(received)}`);
    this.name = 'AddressError';
  }
}

const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);


function parseIpv4Value(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!isCanonicalDecimal(part, 3) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}


function parseIpv6Value(text: string): bigint | undefined {
  if (text.length > 45 || text.length < 2) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] | undefined => (s === '' ? [] : s.split(':'));
  let head = groups(halves[0]!);
  let tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 tail (::ffff:192.0.2.1) counts as two hextets.
  const last = (tail.length ? tail : head).at(-1);
  let v4: bigint | undefined;
  if (last !== undefined && last.includes('.')) {
    v4 = parseIpv4Value(last);
    if (v4 === undefined) return undefined;
    if (tail.length) tail = tail.slice(0, -1);
    else head = head.slice(0, -1);
  }
  const hextets = head.length + tail.length + (v4 !== undefined ? 2 : 0);
  if (halves.length === 1 ? hextets !== 8 : hextets > 7) return undefined;
  let value = 0n;
  const push = (g: string): boolean => {
    if (!isHexDigits(g, 4)) return false;
    value = (value << 16n) | BigInt(parseInt(g, 16));
    return true;
  };
  for (const g of head) if (!push(g)) return undefined;
  value <<= BigInt(16 * (8 - hextets));
  for (const g of tail) if (!push(g)) return undefined;
  if (v4 !== undefined) value = (value << 32n) | v4;
  return value;
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
}

// RFC 5952: lower case, no leading zeros, the longest run (≥ 2) of zero
// groups compressed, the first such run on a tie.
function formatIpv6(value: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((value >> BigInt(16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  // iproute2 prints IPv4-mapped addresses with a dotted tail.
  if (bestStart === 0 && bestLen === 5 && g[5] === 0xffff) {
    return `::ffff:${formatIpv4(value & 0xffffffffn)}`;
  }
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Builds an address from its numeric value. */
export function ipFromValue(family: Family, value: bigint): IpAddress {
  return { family, value, text: family === 4 ? formatIpv4(value) : formatIpv6(value) };
}

/** Parses an address of either family, or of the family given. */
export function parseIp(text: string, family?: Family): IpAddress {
  const want = family === 4 ? 'an IPv4 address' : family === 6 ? 'an IPv6 address' : 'an IP address';
  if (typeof text !== 'string') throw new AddressError(want, String(text));
  if (family !== 6) {
    const v4 = parseIpv4Value(text);
    if (v4 !== undefined) return ipFromValue(4, v4);
  }
  if (family !== 4) {
    const v6 = parseIpv6Value(text);
    if (v6 !== undefined) return ipFromValue(6, v6);
  }
  throw new AddressError(want, text);
}

/** Like parseIp, but returns undefined instead of throwing. */
export function tryParseIp(text: string, family?: Family): IpAddress | undefined {
  try {
    return parseIp(text, family);
  } catch {
    return undefined;
  }
}

function maskOf(family: Family, length: number): bigint {
  const bits = BigInt(bitsOf(family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(length))) - 1n);
}

/** Parses a prefix length in range for the family ("24", not "024" or "33"). */
export function parsePrefixLength(text: string, family: Family): number {
  const max = bitsOf(family);
  if (!isCanonicalDecimal(text, 3) || Number(text) > max) {
    throw new AddressError(`a prefix length 0..${max}`, text);
  }
  return Number(text);
}

/** Turns a dotted netmask into a prefix length; rejects non-contiguous masks. */
export function netmaskToLength(text: string): number {
  const mask = parseIpv4Value(text);
  if (mask === undefined) throw new AddressError('an IPv4 netmask', text);
  const inverted = ~mask & 0xffffffffn;
  if ((inverted & (inverted + 1n)) !== 0n) throw new AddressError('a contiguous IPv4 netmask', text);
  return 32 - (inverted === 0n ? 0 : inverted.toString(2).length);
}

/** The prefix of the given length that contains the address. */
export function prefixOf(address: IpAddress, length: number): IpPrefix {
  const network = ipFromValue(address.family, address.value & maskOf(address.family, length));
  return { network, length, text: `${network.text}/${length}` };
}

/** Parses "A/len" (or a bare address as a host prefix) into address and prefix. */
export function parseInterfaceAddress(text: string, family?: Family): IpInterfaceAddress {
  const slash = text.indexOf('/');
  const address = parseIp(slash < 0 ? text : text.slice(0, slash), family);
  const length =
    slash < 0 ? bitsOf(address.family) : parsePrefixLength(text.slice(slash + 1), address.family);
  return { address, prefix: prefixOf(address, length) };
}

/** Parses a network prefix "N/len"; host bits must be zero unless `loose`. */
export function parsePrefix(text: string, family?: Family, loose = false): IpPrefix {
  const { address, prefix } = parseInterfaceAddress(text, family);
  if (!loose && address.value !== prefix.network.value) {
    throw new AddressError(`a network prefix with host bits clear (${prefix.text})`, text);
  }
  return prefix;
}

/** The host prefix of one address: /32 or /128. */
export function hostPrefix(address: IpAddress): IpPrefix {
  return prefixOf(address, bitsOf(address.family));
}

export function prefixContains(prefix: IpPrefix, address: IpAddress): boolean {
  return (
    prefix.network.family === address.family &&
    (address.value & maskOf(address.family, prefix.length)) === prefix.network.value
  );
}

export function isLinkLocal(address: IpAddress): boolean {
  return address.family === 6
    ? address.value >> 118n === 0x3fan // fe80::/10
    : address.value >> 16n === 0xa9fen; // 169.254/16
}
