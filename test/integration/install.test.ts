// install.sh on a scratch root (DESTDIR): what it installs, with which modes;
// a second run changes nothing; an edited config survives; --dry-run writes
// nothing; --uninstall leaves no file of ours (an edited config only with --purge).

import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import tmp from 'tmp';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const INSTALL = path.join(ROOT, 'install.sh');
const BINARY = path.join(ROOT, 'dist/multihomed-routing');

const BIN = '/usr/local/sbin/multihomed-routing';
const UNIT = '/etc/systemd/system/multihomed-routing.service';
const SOCKET = '/etc/systemd/system/multihomed-routing.socket';
const CONF = '/etc/multihomed-routing/multihomed-routing.conf';
const IFUP = '/etc/network/if-up.d/multihomed-routing';
const IFDOWN = '/etc/network/if-post-down.d/multihomed-routing';
const MAN = '/usr/local/share/man/man8/multihomed-routing.8';
const DHCLIENT = '/etc/dhcp/dhclient-enter-hooks.d/multihomed-routing';
const DNSMASQ = '/etc/dnsmasq.d/multihomed-routing.conf';
const UDEV = '/etc/udev/rules.d/99-multihomed-routing.rules';
const EXAMPLE = '/etc/multihomed-routing/events.d/example.disabled';

let scratch: tmp.DirResult;
let destdir: string;
let defaults: string;

async function install(...args: string[]) {
  return execa(INSTALL, ['--binary', BINARY, ...args], { env: { DESTDIR: destdir }, reject: false });
}
async function uninstall(...args: string[]) {
  return execa(INSTALL, ['--uninstall', ...args], { env: { DESTDIR: destdir }, reject: false });
}

/** Every file under the scratch root, as `mode path`. */
function files(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${(fs.statSync(p).mode & 0o7777).toString(8)} ${p.slice(destdir.length)}`);
    }
  };
  walk(destdir);
  return out.sort();
}

const real = (p: string) => path.join(destdir, p);

beforeAll(async () => {
  // The real executable; built once if this checkout has none yet.
  if (!fs.existsSync(BINARY)) await execa('npm', ['run', 'build'], { cwd: ROOT });
  defaults = (await execa(BINARY, ['config', 'defaults'])).stdout + '\n';
}, 180_000);

beforeEach(() => {
  scratch = tmp.dirSync({ prefix: 'mhr-install-', unsafeCleanup: true });
  destdir = scratch.name;
});

afterEach(() => {
  scratch?.removeCallback();
});

describe('install.sh', () => {
  test('installs the executable, the unit and the default config, with their modes', async () => {
    const r = await install();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(files()).toEqual([`644 ${CONF}`, `644 ${UNIT}`, `644 ${SOCKET}`, `755 ${BIN}`, `755 ${IFUP}`, `755 ${IFDOWN}`, `644 ${MAN}`, `644 ${DHCLIENT}`, `644 ${DNSMASQ}`, `644 ${UDEV}`, `755 ${EXAMPLE}`].sort());
    expect(fs.readFileSync(real(MAN), 'utf8')).toMatch(/^'\\" t\n(\.\\".*\n)*\.TH MULTIHOMED\\-ROUTING 8 /);
    expect(fs.readFileSync(real(CONF), 'utf8')).toBe(defaults);
    // The ifupdown hook: the daemon's hand-over first, else the executable (hooks/ifupdown/hook.sh).
    for (const hook of [IFUP, IFDOWN]) {
      const text = fs.readFileSync(real(hook), 'utf8');
      expect(text).toMatch(new RegExp(`^#!/bin/bash -p\n(#.*\n)*\nmhr_handover='/run/multihomed-routing/hook'\n`));
      expect(text).toMatch(new RegExp(`\nunset NODE_OPTIONS [A-Z0-9_ ]+\nexec ${BIN} --config ${CONF} ifupdown\n$`));
      await execa('bash', ['-n', real(hook)]);
    }
    // The dhclient shim: sourced by dhclient-script, the placeholders replaced by the installed paths.
    const shim = fs.readFileSync(path.join(ROOT, 'hooks/dhclient/shim.sh'), 'utf8');
    expect(fs.readFileSync(real(DHCLIENT), 'utf8')).toBe(
      shim
        .replace("mhr_exe='@EXECUTABLE@'", `mhr_exe='${BIN}'`)
        .replace("mhr_config='@CONFIG@'", `mhr_config='${CONF}'`)
        .replace("mhr_handover='@HANDOVER@'", "mhr_handover='/run/multihomed-routing/hook'"),
    );
    await execa('sh', ['-n', real(DHCLIENT)]);
    expect(fs.readFileSync(real(DNSMASQ), 'utf8')).toMatch(/\nservers-file=\/run\/multihomed-routing\/dnsmasq-servers\.conf\n$/);
    const rules = fs.readFileSync(real(UDEV), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(rules).toEqual([expect.stringMatching(new RegExp(`^SUBSYSTEM=="net", ACTION=="remove", RUN\\+="/usr/bin/env( -u [A-Z0-9_]+)+ ${BIN} --config ${CONF} udev-remove"$`))]);
    const unit = fs.readFileSync(real(UNIT), 'utf8');
    expect(unit).toMatch(new RegExp(`\nUnsetEnvironment=NODE_OPTIONS [A-Z0-9_ ]+\nExecStart=${BIN} --config ${CONF} daemon\n`));
    expect(unit).toContain('Restart=on-failure\n');
    expect((await execa(real(BIN), ['--version'])).stdout).toMatch(/^multihomed-routing \d/);
    expect(r.stdout).toContain(`installed ${BIN} (0755)`);
    expect(r.stdout).toContain('not starting the daemon (DESTDIR is set)');
  });

  test('a second run changes nothing, and an edited config survives it', async () => {
    expect((await install()).exitCode).toBe(0);
    const edited = `${defaults}# edited by the operator\n`;
    fs.writeFileSync(real(CONF), edited);
    const before = files().map((f) => `${f} ${fs.statSync(real(f.split(' ')[1]!)).mtimeMs}`);

    const again = await install();

    expect(again.exitCode, again.stderr).toBe(0);
    expect(files().map((f) => `${f} ${fs.statSync(real(f.split(' ')[1]!)).mtimeMs}`)).toEqual(before);
    expect(fs.readFileSync(real(CONF), 'utf8')).toBe(edited);
    expect(again.stdout).toContain(`unchanged ${BIN}`);
    expect(again.stdout).toContain(`kept ${CONF} (edited; not overwritten)`);
  });

  test('--dry-run writes nothing, installing or uninstalling', async () => {
    const r = await install('--dry-run');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`would install ${BIN} (0755)`);
    expect(files()).toEqual([]);

    await install();
    const installed = files();
    const u = await uninstall('--dry-run', '--purge');
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.stdout).toContain(`would run: rm -f ${real(BIN)}`);
    expect(files()).toEqual(installed);
  });

  test('--uninstall removes all of it; an edited config only with --purge', async () => {
    await install();
    let u = await uninstall();
    expect(u.exitCode, u.stderr).toBe(0);
    expect(files()).toEqual([]);
    expect(fs.readdirSync(destdir)).toEqual([]);

    await install();
    fs.appendFileSync(real(CONF), 'lease_time = 600\n');
    u = await uninstall();
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.stdout).toContain(`kept ${CONF} (edited; --purge removes it)`);
    expect(files()).toEqual([`644 ${CONF}`]);
    u = await uninstall('--purge');
    expect(u.exitCode, u.stderr).toBe(0);
    expect(files()).toEqual([]);
  });

  test('--uninstall keeps the operator\'s event scripts and names them; the example goes', async () => {
    await install();
    expect(fs.readFileSync(real(EXAMPLE), 'utf8')).toMatch(/^#!\/bin\/sh\n[^]*MHR_EVENT/);
    fs.writeFileSync(real('/etc/multihomed-routing/events.d/50-notify'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const u = await uninstall();
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.stdout).toContain('kept /etc/multihomed-routing/events.d (the operator\'s event scripts: 50-notify)');
    expect(files()).toEqual(['755 /etc/multihomed-routing/events.d/50-notify']);
  });

  test('PREFIX and SYSCONFDIR move the files, and the unit names the config it will read', async () => {
    const r = await install('--prefix', '/opt/mhr', '--sysconfdir', '/etc/netns/mhr-x');
    expect(r.exitCode, r.stderr).toBe(0);
    const conf = '/etc/netns/mhr-x/multihomed-routing/multihomed-routing.conf';
    expect(files()).toEqual([
      `644 ${conf}`, `644 ${UNIT}`, `644 ${SOCKET}`, '755 /opt/mhr/sbin/multihomed-routing', '644 /opt/mhr/share/man/man8/multihomed-routing.8',
      '755 /etc/netns/mhr-x/network/if-up.d/multihomed-routing', '755 /etc/netns/mhr-x/network/if-post-down.d/multihomed-routing',
      '644 /etc/netns/mhr-x/dhcp/dhclient-enter-hooks.d/multihomed-routing', '644 /etc/netns/mhr-x/dnsmasq.d/multihomed-routing.conf',
      '644 /etc/netns/mhr-x/udev/rules.d/99-multihomed-routing.rules', '755 /etc/netns/mhr-x/multihomed-routing/events.d/example.disabled',
    ].sort());
    expect(fs.readFileSync(real('/etc/netns/mhr-x/dhcp/dhclient-enter-hooks.d/multihomed-routing'), 'utf8')).toContain(
      `mhr_exe='/opt/mhr/sbin/multihomed-routing'\nmhr_config='${conf}'\n`,
    );
    expect(fs.readFileSync(real('/etc/netns/mhr-x/udev/rules.d/99-multihomed-routing.rules'), 'utf8')).toContain(
      `/opt/mhr/sbin/multihomed-routing --config ${conf} udev-remove"`,
    );
    expect(fs.readFileSync(real(UNIT), 'utf8')).toContain(`ExecStart=/opt/mhr/sbin/multihomed-routing --config ${conf} daemon\n`);
    expect((await uninstall('--prefix', '/opt/mhr', '--sysconfdir', '/etc/netns/mhr-x')).exitCode).toBe(0);
    expect(files()).toEqual([]);
  });

  test('the dnsmasq drop-in names the servers-file of an edited config', async () => {
    fs.mkdirSync(path.dirname(real(CONF)), { recursive: true });
    fs.writeFileSync(real(CONF), `${defaults}dnsmasq_servers_file = /var/lib/mhr/servers.conf\n`);
    const r = await install();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(fs.readFileSync(real(DNSMASQ), 'utf8')).toContain('\nservers-file=/var/lib/mhr/servers.conf\n');
    // --print renders the same file without installing anything
    const printed = await execa(INSTALL, ['--print', 'dnsmasq-conf'], { env: { DESTDIR: destdir } });
    expect(printed.stdout + '\n').toBe(fs.readFileSync(real(DNSMASQ), 'utf8'));
  });

  test('--print renders each installed file as install.sh writes it (the package build uses it)', async () => {
    expect((await install()).exitCode).toBe(0);
    for (const [name, file] of [['udev-rule', UDEV], ['ifupdown-hook', IFUP], ['dhclient-hook', DHCLIENT], ['unit', UNIT], ['socket-unit', SOCKET], ['event-example', EXAMPLE], ['config', CONF]] as const) {
      const printed = await execa(INSTALL, ['--binary', BINARY, '--print', name], { env: { DESTDIR: destdir } });
      expect(printed.stdout + '\n', name).toBe(fs.readFileSync(real(file), 'utf8'));
    }
  });

  test('the units pass systemd-analyze verify; the socket listens before the network managers start', async () => {
    // verify wants ExecStart to exist: a prefix inside the scratch root, the real executable in it.
    const prefix = path.join(destdir, 'usr');
    fs.mkdirSync(path.join(prefix, 'sbin'), { recursive: true });
    fs.symlinkSync(BINARY, path.join(prefix, 'sbin/multihomed-routing'));
    const units = path.join(destdir, 'units');
    fs.mkdirSync(units);
    const text: Record<string, string> = {};
    for (const [name, file] of [['unit', 'multihomed-routing.service'], ['socket-unit', 'multihomed-routing.socket']] as const) {
      text[file] = (await execa(INSTALL, ['--binary', BINARY, '--prefix', prefix, '--print', name], { env: { DESTDIR: destdir } })).stdout + '\n';
      fs.writeFileSync(path.join(units, file), text[file]!);
    }
    const files = Object.keys(text).map((f) => path.join(units, f));
    const v = await execa('systemd-analyze', ['verify', '--man=no', ...files], { reject: false });
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.stderr + v.stdout).toBe(''); // unknown keys are only warned about
    // the check is real: a misspelt key is reported
    fs.writeFileSync(files[1]!, text['multihomed-routing.socket']!.replace('Before=', 'Befor='));
    expect((await execa('systemd-analyze', ['verify', '--man=no', ...files], { reject: false })).stderr).toMatch(/Unknown key 'Befor'/);
    const socket = text['multihomed-routing.socket']!;
    expect(socket).toMatch(/^Before=sockets\.target networking\.service NetworkManager\.service shutdown\.target$/m);
    expect(socket).toMatch(/^ListenStream=\/run\/multihomed-routing\/allocator\/allocator\.sock$/m);
    expect(socket).toMatch(/^SocketMode=0600$/m);
    expect(socket).toMatch(/^DirectoryMode=0700$/m);
    expect(socket).toMatch(/^WantedBy=sockets\.target$/m);
    const service = text['multihomed-routing.service']!;
    expect(service).toMatch(/^Requires=multihomed-routing\.socket$/m);
    expect(service).toMatch(/^Before=network\.target networking\.service NetworkManager\.service shutdown\.target$/m);
  });

  test('the socket unit listens where an edited config says', async () => {
    fs.mkdirSync(path.dirname(real(CONF)), { recursive: true });
    fs.writeFileSync(real(CONF), `${defaults}socket_path = /run/mhr-x/sock/daemon.sock\n`);
    expect((await install()).exitCode).toBe(0);
    const socket = fs.readFileSync(real(SOCKET), 'utf8');
    expect(socket).toContain('\nListenStream=/run/mhr-x/sock/daemon.sock\n');
    expect(socket).toContain('\nExecStartPre=/bin/mkdir -p /run/mhr-x\n');
  });

  test('--dry-run without --binary says it would build', async () => {
    const r = await execa(INSTALL, ['--dry-run'], { env: { DESTDIR: destdir }, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('would build: npm ci (when node_modules is missing) and npm run build');
    expect(files()).toEqual([]);
  });

  test('bad arguments are refused', async () => {
    expect((await install('--prefix', "/opt/it's")).stderr).toContain('PREFIX may only contain');
    expect((await install('--frobnicate')).exitCode).not.toBe(0);
    expect((await install('--prefix', 'relative/dir')).stderr).toContain('PREFIX must be an absolute path');
    expect((await execa(INSTALL, ['--binary', '/nonexistent'], { env: { DESTDIR: destdir }, reject: false })).stderr).toContain(
      'not an executable file',
    );
    expect(files()).toEqual([]);
  });
});
