// Validators for the single values dhclient puts in dhclient-script's
// environment. Everything there comes from a DHCP server and is untrusted:
// each value is parsed into a typed one or rejected with an error naming the
// variable, what was expected and what was received.

import {
  AddressError,
  netmaskToLength,
  parseIp,
  parsePrefixLength,
  type Family,
  type IpAddress,
} from '../net/address.js';
import { isCanonicalDecimal, splitOn } from '../text/lex.js';

/** Longest value we look at; dhclient's own option values are far shorter. */
export const MAX_VALUE_LENGTH = 4096;
/** Most name servers accepted per interface and family (more: event rejected). */
export const MAX_NAME_SERVERS = 8;
/** Most routers accepted in new_routers. */
export const MAX_ROUTERS = 8;

/** A value from the dhclient environment that is not what it must be. */
export class DhcpEnvError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
    readonly received: string,
  ) {
    super(`${variable}: expected ${expected}, received ${quote(received)}`);
    this.name = 'DhcpEnvError';
  }
}

/** JSON-quotes a received value for a message, cut to a readable length. */
export function quote(value: string): string {
  return value.length > 120 ? `${JSON.stringify(value.slice(0, 120))}… (${value.length} chars)` : JSON.stringify(value);
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The variable's value, or undefined when unset or empty (as `[ -n ]` sees it). */
export function valueOf(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  if (value.length > MAX_VALUE_LENGTH) {
    throw new DhcpEnvError(name, `at most ${MAX_VALUE_LENGTH} characters`, value);
  }
  return value;
}

/** Splits a space-separated list the way dhclient writes it (one space between items). */
export function splitList(value: string | undefined): string[] {
  return value === undefined ? [] : splitOn(value, ' \t');
}

const UNUSABLE_V4 = (a: IpAddress) =>
  a.value >> 24n === 0n || // 0.0.0.0/8
  a.value >> 24n === 127n || // loopback
  a.value >> 28n === 0xen || // multicast 224/4
  a.value >> 28n === 0xfn; // 240/4 and the limited broadcast
const UNUSABLE_V6 = (a: IpAddress) => a.value === 0n || a.value === 1n || a.value >> 120n === 0xffn;

/** True for an address a host can send unicast to (not 0/8, loopback, multicast, ::). */
export function isUnicast(address: IpAddress): boolean {
  return address.family === 4 ? !UNUSABLE_V4(address) : !UNUSABLE_V6(address);
}

const familyName = (family: Family) => (family === 4 ? 'IPv4' : 'IPv6');

/** One address of the given family; `unicast` also refuses 0.0.0.0, loopback, multicast. */
export function parseAddressValue(name: string, text: string, family: Family, unicast = true): IpAddress {
  const what = `${unicast ? 'a unicast ' : 'an '}${familyName(family)} address`;
  let address: IpAddress;
  try {
    address = parseIp(text, family);
  } catch (err) {
    if (err instanceof AddressError) throw new DhcpEnvError(name, what, text);
    throw err;
  }
  if (unicast && !isUnicast(address)) throw new DhcpEnvError(name, what, text);
  return address;
}

/** A required or optional single address variable. */
export function readAddress(env: Env, name: string, family: Family, unicast = true): IpAddress | undefined {
  const text = valueOf(env, name);
  return text === undefined ? undefined : parseAddressValue(name, text, family, unicast);
}

/** A list of addresses (routers, name servers): each validated, duplicates dropped, length capped. */
export function readAddressList(env: Env, name: string, family: Family, max: number): IpAddress[] {
  const items = splitList(valueOf(env, name));
  if (items.length > max) {
    throw new DhcpEnvError(name, `at most ${max} ${familyName(family)} addresses`, valueOf(env, name)!);
  }
  const seen = new Set<string>();
  const out: IpAddress[] = [];
  for (const item of items) {
    const address = parseAddressValue(name, item, family);
    if (seen.has(address.text)) continue;
    seen.add(address.text);
    out.push(address);
  }
  return out;
}

/** A dotted netmask as a prefix length; a missing mask means a host address (/32). */
export function readNetmask(env: Env, name: string): number {
  const text = valueOf(env, name);
  if (text === undefined) return 32;
  try {
    return netmaskToLength(text);
  } catch (err) {
    if (err instanceof AddressError) throw new DhcpEnvError(name, 'a contiguous IPv4 netmask (e.g. 255.255.255.0)', text);
    throw err;
  }
}

/** An IPv6 prefix length (0..128); missing means /128, as `ip -6 addr` would take it. */
export function readPrefixLength6(env: Env, name: string): number {
  const text = valueOf(env, name);
  if (text === undefined) return 128;
  try {
    return parsePrefixLength(text, 6);
  } catch (err) {
    if (err instanceof AddressError) throw new DhcpEnvError(name, 'an IPv6 prefix length 0..128', text);
    throw err;
  }
}

/** An unsigned decimal integer within [min, max]. */
export function readInteger(env: Env, name: string, min: number, max: number): number | undefined {
  const text = valueOf(env, name);
  if (text === undefined) return undefined;
  if (!isCanonicalDecimal(text, 10) || Number(text) < min || Number(text) > max) {
    throw new DhcpEnvError(name, `a decimal integer ${min}..${max}`, text);
  }
  return Number(text);
}

/** Seconds of a lifetime (32-bit; 4294967295 is infinite). */
export const readLifetime = (env: Env, name: string) => readInteger(env, name, 0, 0xffffffff);

/**
 * new_interface_mtu: dhclient-script blanks values ≤ 576 before the hooks
 * run and so do we; anything else must be a number the kernel could take.
 */
export function readMtu(env: Env, name: string): number | undefined {
  const text = valueOf(env, name);
  if (text === undefined) return undefined;
  const mtu = readInteger(env, name, 0, 65535);
  return mtu !== undefined && mtu > 576 ? mtu : undefined;
}
