// An IPv6 address is tentative until duplicate address detection is over:
// up to ~2 s with the kernel's defaults (a random delay of up to
// rtr_solicit_delay, then dad_transmits probes retrans_time apart), and a
// few milliseconds even with DAD off, as the kernel finishes it in a work
// queue. Meanwhile the kernel refuses it as the `src` of a route ("Invalid
// source address"), so the applier waits for an IPv6 address it added before
// it adds the routes from it (DHCPv6 leases: ifupdown and NetworkManager
// wait for DAD themselves before their hooks run). Debian's dhclient-script
// waits for DAD too before it reports the address bound.

import type { IpChannel } from '../exec/ip-channel.js';
import type { IpInterfaceAddress } from '../net/address.js';
import { parseAddrJson } from '../state/parse.js';

export const DAD_TIMEOUT_MS = 5000;
const STEP_MS = 20;

export class DadError extends Error {
  override name = 'DadError';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the kernel says of the address: usable, tentative, dadfailed or absent. */
async function addressState(ip: IpChannel, ifname: string, a: IpInterfaceAddress): Promise<'usable' | 'tentative' | 'dadfailed' | 'absent'> {
  let addresses: string;
  try {
    ({ addresses } = await ip.read(6, ['addresses']));
  } catch (err) {
    throw new DadError(`cannot read the addresses of ${ifname}: ${(err as Error).message}`);
  }
  const found = parseAddrJson(addresses)
    .flatMap((l) => (l.ifname === ifname ? l.addresses : []))
    .find((x) => x.address.address.text === a.address.text && x.address.prefix.length === a.prefix.length);
  if (!found) return 'absent';
  if (found.flags.includes('dadfailed')) return 'dadfailed';
  return found.flags.includes('tentative') ? 'tentative' : 'usable';
}

/** Resolves once the address is no longer tentative; rejects (DadError) on a duplicate, its disappearance or the timeout. */
export async function waitForDad(ip: IpChannel, ifname: string, a: IpInterfaceAddress, timeoutMs = DAD_TIMEOUT_MS): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const state = await addressState(ip, ifname, a);
    if (state === 'usable') return;
    const what = `${a.address.text}/${a.prefix.length} on ${ifname}`;
    if (state === 'dadfailed') throw new DadError(`${what}: duplicate address detection failed (another host uses it)`);
    if (state === 'absent') throw new DadError(`${what}: gone while duplicate address detection ran`);
    if (Date.now() >= end) throw new DadError(`${what}: still tentative after ${timeoutMs} ms of duplicate address detection`);
    await sleep(STEP_MS);
  }
}
