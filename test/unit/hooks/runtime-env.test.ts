// Every entry point starts the executable without the variables the runtime
// reads before our code runs (NODE_OPTIONS & co.): the shim (sourced, so it
// holds its own copy of the list), and what install.sh writes from RUNTIME_ENV
// (if-up.d / if-post-down.d hook, udev rule, systemd unit). The lists stay equal.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);
const installed = (file: string) => execFileSync('bash', [fileURLToPath(new URL('install.sh', root)), '--print', file], { encoding: 'utf8' });
const runtimeEnv = (/^RUNTIME_ENV='([^']*)'$/m.exec(readFileSync(new URL('install.sh', root), 'utf8'))?.[1] ?? '').split(' ');

describe('the variables the runtime reads before our code', () => {
  it('install.sh names them, NODE_OPTIONS and NODE_EXTRA_CA_CERTS among them', () => {
    expect(runtimeEnv).toEqual(expect.arrayContaining(['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'NODE_PATH', 'OPENSSL_CONF']));
    expect(runtimeEnv.every((v) => /^[A-Z][A-Z0-9_]*$/.test(v))).toBe(true);
  });

  it('the dhclient shim unsets exactly them before it starts the executable', () => {
    const shim = installed('dhclient-hook');
    const unset = /^\s*unset (NODE_\S+.*)$/m.exec(shim)?.[1]?.split(' ');
    expect(unset).toEqual(runtimeEnv);
    expect(shim.indexOf(`unset ${runtimeEnv.join(' ')}`)).toBeLessThan(shim.indexOf('exec $mhr_timeout "$mhr_exe"'));
  });

  it('the if-up.d / if-post-down.d hook unsets them, then execs', () => {
    expect(installed('ifupdown-hook').trimEnd().split('\n').slice(-2)).toEqual([`unset ${runtimeEnv.join(' ')}`, expect.stringMatching(/^exec \S+ --config \S+ ifupdown$/)]);
  });

  it('the dhclient shim and the ifupdown hook read the reply with the same function, in bash', () => {
    // From `mhr_reply_wait() {` to its closing brace, indentation aside.
    const wait = (text: string) => /^\s*mhr_reply_wait\(\) \{[\s\S]*?\n\s*\}$/m.exec(text)?.[0].replace(/^\t+/gm, '');
    const hook = installed('ifupdown-hook');
    const shim = installed('dhclient-hook');
    expect(hook.split('\n')[0]).toBe('#!/bin/bash -p');
    expect(wait(hook)).toContain('read -r -t 0.25 -u "$1" mhr_for mhr_len');
    expect(wait(hook)).toBe(wait(shim));
    // Both claim a slot and hold it on fd 3 while the reply is read (the daemon checks the reader holds it).
    expect(hook).toContain('exec 3<>"$mhr_slot"');
    expect(shim).toContain('exec 3<>"$mhr_slot"');
    expect(shim).toContain('exec /bin/bash -p -c "$mhr_wait" mhr "$mhr_dpid"');
  });

  it('the udev rule starts it through env -u for each', () => {
    const run = /RUN\+="([^"]*)"/.exec(installed('udev-rule'))?.[1]?.split(/\s+/);
    expect(run?.slice(0, 1 + 2 * runtimeEnv.length)).toEqual(['/usr/bin/env', ...runtimeEnv.flatMap((v) => ['-u', v])]);
    expect(run?.at(-1)).toBe('udev-remove');
  });

  it('the systemd unit unsets them for the daemon', () => {
    expect(installed('unit')).toContain(`\nUnsetEnvironment=${runtimeEnv.join(' ')}\nExecStart=`);
  });
});
