// Our hooks where ifupdown, dhclient-script and udev look for them, each
// runnable and running an executable that exists; NetworkManager's way to
// reach the if-up.d hook (Debian's 01-ifupdown).

import type { Check } from '../check.js';
import type { Finding } from '../findings.js';
import type { HookFile } from '../snapshot.js';

function hookProblem(hook: HookFile, needsExec: boolean, who: string, without: string): Finding | undefined {
  if (!hook.exists) {
    return {
      id: 'hook-missing',
      severity: 'error',
      subject: hook.path,
      what: `${hook.path} is missing.`,
      why: `${who} looks there; without it ${without}.`,
      fix: ['./install.sh   # from the multihomed-routing source, or: install.sh --binary PATH'],
    };
  }
  if (needsExec && !hook.executable) {
    return {
      id: 'hook-broken',
      severity: 'error',
      subject: hook.path,
      what: `${hook.path} is not executable.`,
      why: `${who} runs only executable files there (run-parts), so it skips this one.`,
      fix: [`chmod 0755 ${hook.path}`],
    };
  }
  if (hook.target && !hook.targetExecutable) {
    return {
      id: 'hook-broken',
      severity: 'error',
      subject: hook.path,
      what: `${hook.path} runs ${hook.target}, which does not exist or is not executable.`,
      why: `${who} runs the hook, which fails: the host falls back to plain routing and every event logs an error.`,
      fix: ['./install.sh   # reinstall the executable and the hooks', `ls -l ${hook.target}`],
    };
  }
  return undefined;
}

export const hooks: Check = {
  id: 'hooks',
  findings: ['hook-missing', 'hook-broken', 'nm-dispatcher-missing'],
  run({ tools, hooks }) {
    const out: (Finding | undefined)[] = [];
    if (tools.ifupdown) {
      out.push(hookProblem(hooks.ifUp, true, 'ifupdown (and NetworkManager through 01-ifupdown) on up', 'static and NetworkManager addresses get no table and no rules'));
      out.push(hookProblem(hooks.ifPostDown, true, 'ifupdown on down', 'rules and routes of an interface taken down stay behind and its leases are not released'));
    }
    if (tools.dhclient) out.push(hookProblem(hooks.dhclientEnter, false, 'dhclient-script (it sources every file in dhclient-enter-hooks.d)', 'DHCP addresses get no table, and dhclient-script puts its default route in main'));
    if (tools.udev) out.push(hookProblem(hooks.udevRule, false, 'udev, when an interface is removed (an unplugged modem)', "that interface's dhclient, DNS servers, rules and leases stay behind"));
    if (tools.networkManager && (!hooks.nmDispatcher.exists || !hooks.nmDispatcher.executable)) {
      out.push({
        id: 'nm-dispatcher-missing',
        severity: 'warning',
        subject: hooks.nmDispatcher.path,
        what: `NetworkManager is installed, but ${hooks.nmDispatcher.path} is ${hooks.nmDispatcher.exists ? 'not executable' : 'missing'}.`,
        why: "NetworkManager reaches our if-up.d hook only through Debian's 01-ifupdown dispatcher script: interfaces it configures get no table.",
        fix: hooks.nmDispatcher.exists
          ? [`chmod 0755 ${hooks.nmDispatcher.path}`]
          : ['apt-get install --reinstall network-manager   # Debian and Ubuntu ship 01-ifupdown in it', 'systemctl restart NetworkManager-dispatcher'],
      });
    }
    return out.filter((f): f is Finding => f !== undefined);
  },
};
