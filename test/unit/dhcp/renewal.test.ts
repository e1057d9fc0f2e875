// The lease line the hook leaves the shim after a renewal that changed
// nothing (lib/dhcp/renewal.ts) and the one the shim builds to compare
// (hooks/dhclient/shim.sh, mhr_lease): the same options, the same bytes,
// whatever the values hold. The shim's part runs in the real dash.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { leaseLine, WATCHED } from '../../../lib/dhcp/renewal.js';

const shim = readFileSync(new URL('../../../hooks/dhclient/shim.sh', import.meta.url), 'utf8');
const keysOf = (reason: string) => new RegExp(`${reason}\\) mhr_family=\\d mhr_keys='([^']*)'`).exec(shim)?.[1]?.split(' ');
const leaseFunction = /mhr_lease\(\) \{[\s\S]*?\n\t\t\}/.exec(shim)![0];

/** mhr_lease PREFIX as the shim runs it, in dash, with `env` exported and the shim's key list of `family`. */
function shimLine(env: Record<string, string>, family: 4 | 6, prefix: 'new_' | 'old_'): string {
  const script = `mhr_keys='${WATCHED[family].join(' ')}'\n${leaseFunction}\nmhr_lease ${prefix}\nprintf '%s' "$mhr_l"`;
  return execFileSync('dash', ['-c', script], { env: { PATH: process.env.PATH, LC_ALL: 'C', ...env }, encoding: 'utf8' });
}

describe('the renewal line', () => {
  it('the shim watches the same options, in the same order, as the hook', () => {
    expect(keysOf('RENEW\\|REBIND')).toEqual(WATCHED[4]);
    expect(keysOf('RENEW6\\|REBIND6')).toEqual(WATCHED[6]);
  });

  it('each option as BYTES:VALUE; an option not given is empty', () => {
    expect(leaseLine({ new_ip_address: '10.0.0.5', new_routers: '10.0.0.1 10.0.0.2' }, 4)).toBe('8:10.0.0.5;0:;0:;17:10.0.0.1 10.0.0.2;0:;0:;0:;');
    expect(leaseLine({ old_ip6_address: '2001:db8::5', old_ip6_prefixlen: '64' }, 6, 'old_')).toBe('11:2001:db8::5;2:64;0:;');
  });

  it.each<[string, Record<string, string>]>([
    ['a plain lease', { new_ip_address: '192.168.1.60', new_subnet_mask: '255.255.255.0', new_routers: '192.168.1.1', new_domain_name_servers: '1.1.1.1 9.9.9.9' }],
    ['separators inside values', { new_ip_address: '1;2:3', new_routers: '4:;5', new_rfc3442_classless_static_routes: '24 10 0 0 10 0 0 1' }],
    ['bytes that are not ASCII', { new_ip_address: 'é→x', new_domain_name_servers: '\u00ff' }],
  ])('the shim builds the hook\'s line: %s', (_name, env) => {
    expect(shimLine(env, 4, 'new_')).toBe(leaseLine(env, 4));
  });

  it('values that would read alike joined with a separator stay apart', () => {
    expect(leaseLine({ new_ip_address: 'a;1:b' }, 4)).not.toBe(leaseLine({ new_ip_address: 'a', new_subnet_mask: 'b' }, 4));
  });
});
