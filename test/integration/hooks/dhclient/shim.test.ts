// The shim's contract with dhclient-script and with the executable, run
// with the REAL /sbin/dhclient-script under dash: a copy whose /etc paths
// point into a temp dir, with `ip`, `ping`, `hostname` and `logger` first on
// PATH as recorders, so nothing touches this machine. The executable is a
// tiny sh stand-in that records its argv and environment and prints what
// each case wants.

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SHIM = join(import.meta.dirname, '../../../../hooks/dhclient/shim.sh');
let dir: string;

const path = (...p: string[]) => join(dir, ...p);
const read = (...p: string[]) => (existsSync(path(...p)) ? readFileSync(path(...p), 'utf8') : '');
const write = (file: string, text: string, mode = 0o644) => {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, mode);
};

const BOUND = {
  reason: 'BOUND',
  interface: 'eth1',
  new_ip_address: '10.99.0.60',
  new_subnet_mask: '255.255.255.0',
  new_routers: '10.99.0.1',
  new_domain_name_servers: '10.99.0.1',
  new_host_name: 'leased-name',
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mhr-shim-'));
  // The real dhclient-script, its /etc paths moved into the temp dir.
  const script = readFileSync('/sbin/dhclient-script', 'utf8').replaceAll('/etc/', `${dir}/etc/`);
  expect(script.match(/\/etc\//g)?.length).toBe(script.split(`${dir}/etc/`).length - 1);
  write(path('dhclient-script'), script, 0o755);
  write(path('etc/fstab'), '/dev/root / ext4 rw 0 1\n');
  write(path('etc/resolv.conf'), 'nameserver 127.0.0.1\n');
  // An exit hook that records what dhclient-script's exit hooks see.
  write(
    path('etc/dhcp/dhclient-exit-hooks.d/record'),
    `echo "exit hook: reason=\${reason-<unset>} exit_status=$exit_status mhr_vars=$(set | grep -c '^mhr_') mhr_log=$(command -v mhr_log || echo none)" >> ${dir}/trace\n`,
  );
  for (const tool of ['ip', 'hostname', 'logger', 'ping']) {
    const extra =
      tool === 'hostname' ? '[ $# -eq 0 ] && echo localhost\n' : tool === 'ping' ? `[ -e ${dir}/ping-ok ] || exit 1\n` : '';
    write(path('bin', tool), `#!/bin/sh\necho "${tool} $*" >> ${dir}/calls\n${extra}exit 0\n`, 0o755);
  }
  // The stand-in executable.
  write(
    path('exe'),
    `#!/bin/sh\n{ echo "argv: $*"; env | grep -E '^(reason|interface|new_ip_address|new_routers)=' | sort; } >> ${dir}/exe.log\ncat ${dir}/exe-stdout 2>/dev/null\nexit $(cat ${dir}/exe-status 2>/dev/null || echo 0)\n`,
    0o755,
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Installs the shim (placeholders substituted as install.sh does) and runs dhclient-script. */
async function runScript(env: Record<string, string>, exe: { stdout?: string; status?: number; path?: string } = {}) {
  const shim = readFileSync(SHIM, 'utf8')
    .replace("'@EXECUTABLE@'", `'${exe.path ?? path('exe')}'`)
    .replace("'@CONFIG@'", "'/etc/multihomed-routing/test.conf'");
  write(path('etc/dhcp/dhclient-enter-hooks.d/multihomed-routing'), shim);
  if (exe.stdout !== undefined) write(path('exe-stdout'), exe.stdout);
  if (exe.status !== undefined) write(path('exe-status'), String(exe.status));
  const result = await execa('dash', [path('dhclient-script')], {
    env: { PATH: `${path('bin')}:/usr/sbin:/usr/bin:/sbin:/bin`, ...env },
    extendEnv: false,
    reject: false,
  });
  return {
    status: result.exitCode,
    stderr: result.stderr,
    calls: read('calls').split('\n').filter(Boolean),
    trace: read('trace').split('\n').filter(Boolean),
    exe: read('exe.log'),
    resolv: read('etc/resolv.conf'),
  };
}

const configured = (calls: string[]) => calls.filter((c) => c.startsWith('ip -4 addr add') || c.startsWith('ip -4 route add'));

describe('dhclient enter hook shim', () => {
  it('parses with dash -n', async () => {
    await execa('dash', ['-n', SHIM]);
  });

  it('handled: runs the executable with the environment, unsets reason, dhclient-script does nothing', async () => {
    const r = await runScript(BOUND, { stdout: 'outcome=handled\nresolv=keep\n' });
    expect(r.exe).toContain('argv: --config /etc/multihomed-routing/test.conf dhclient-hook');
    expect(r.exe).toContain('new_ip_address=10.99.0.60');
    expect(r.exe).toContain('reason=BOUND');
    expect(configured(r.calls)).toEqual([]);
    expect(r.calls).toEqual([]);
    expect(r.resolv).toBe('nameserver 127.0.0.1\n');
    expect(r.trace).toEqual(['exit hook: reason=<unset> exit_status=0 mhr_vars=0 mhr_log=none']);
    expect(r.status).toBe(0);
  });

  it('handled outside dnsmasq mode: dhclient-script’s own resolv.conf and hostname still happen', async () => {
    const r = await runScript(BOUND, { stdout: 'outcome=handled\ncall=make_resolv_conf\ncall=set_hostname\n' });
    expect(configured(r.calls)).toEqual([]);
    expect(r.resolv).toBe('nameserver 10.99.0.1\n');
    expect(r.calls).toContain('hostname leased-name');
    expect(r.trace).toEqual(['exit hook: reason=<unset> exit_status=0 mhr_vars=0 mhr_log=none']);
    expect(r.status).toBe(0);
  });

  it('pass: dhclient-script handles the reason itself (PREINIT brings the link up)', async () => {
    const r = await runScript({ reason: 'PREINIT', interface: 'eth1' }, { stdout: 'outcome=pass\nresolv=keep\n' });
    expect(r.calls).toEqual(['ip link set dev eth1 up']);
    expect(r.trace).toEqual(['exit hook: reason=PREINIT exit_status=0 mhr_vars=0 mhr_log=none']);
  });

  it('unusable TIMEOUT: exit status 2 through the exit hooks, nothing configured', async () => {
    const r = await runScript({ ...BOUND, reason: 'TIMEOUT' }, { stdout: 'outcome=unusable\nresolv=keep\n' });
    expect(r.status).toBe(2);
    expect(r.calls).toEqual([]);
    // exit hooks see run_hook's own `local exit_status=0` (dhclient-script does the same for its own TIMEOUT)
    expect(r.trace).toEqual(['exit hook: reason=TIMEOUT exit_status=0 mhr_vars=0 mhr_log=none']);
  });

  it.each([
    ['the executable fails', { stdout: 'outcome=handled\n', status: 1 }, /dhclient hook: .*exe failed \(exit status 1\); leaving reason=BOUND on eth1 to dhclient-script/],
    ['the executable prints no outcome', { stdout: 'hello\n' }, /failed \(exit status 0\); leaving reason=BOUND/],
    ['the executable prints hostile lines', { stdout: 'outcome=handled; touch hacked\n$(touch hacked)\n outcome=handled\noutcome=handledx\n' }, /failed \(exit status 0\)/],
    ['the executable is missing', { path: '/nonexistent/multihomed-routing' }, /executable \/nonexistent\/multihomed-routing missing or not executable; leaving reason=BOUND on eth1/],
    ['the placeholder was never substituted', { path: '@EXECUTABLE@' }, /executable @EXECUTABLE@ missing/],
  ])('%s: reason left alone, dhclient-script configures the host, the log says why', async (_, exe, why) => {
    const r = await runScript(BOUND, exe);
    expect(r.stderr).toMatch(why);
    expect(r.calls.find((c) => c.startsWith('logger '))).toMatch(/^logger -t multihomed-routing -p daemon\.err -- dhclient hook: /);
    expect(configured(r.calls)).toEqual([
      'ip -4 addr add 10.99.0.60/255.255.255.0 dev eth1 label eth1',
      'ip -4 route add default via 10.99.0.1 dev eth1',
    ]);
    expect(r.resolv).toBe('nameserver 10.99.0.1\n');
    expect(r.trace).toEqual(['exit hook: reason=BOUND exit_status=0 mhr_vars=0 mhr_log=none']);
    expect(r.status).toBe(0);
    expect(existsSync('hacked') || existsSync(path('hacked'))).toBe(false);
  });

  it('a failure in dnsmasq mode still keeps resolv.conf', async () => {
    const r = await runScript(BOUND, { stdout: 'resolv=keep\n', status: 1 });
    expect(configured(r.calls)).toHaveLength(2);
    expect(r.resolv).toBe('nameserver 127.0.0.1\n');
  });

  it('never evaluates what it logs (hostile interface name)', async () => {
    const r = await runScript({ ...BOUND, interface: `e$(touch ${dir}/pwned)` }, { status: 1 });
    expect(r.stderr).toContain(`on e$(touch ${dir}/pwned) to dhclient-script`);
    expect(existsSync(path('pwned'))).toBe(false);
  });
});
