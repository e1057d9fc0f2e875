// dnsmasq_mode = yes: does the dnsmasq we signal read our servers-file, does
// dnsmasq_pid_file name the one that does, does any run at all.
// dnsmasq_mode = auto: the same decision as the hooks (lib/dns/mode.ts), from
// the snapshot; off is advice (info), unless a dnsmasq reads our file and the
// pid file names another (the decision would be on with the right pid file).

import { decideDns, howToTurnOn, type PidFileDnsmasq } from '../../dns/mode.js';
import type { Check, DoctorConfig } from '../check.js';
import type { Finding } from '../findings.js';
import type { DnsmasqProcess, HostSnapshot } from '../snapshot.js';

const DROP_IN = '/etc/dnsmasq.d/multihomed-routing.conf';

function optionValue(argv: readonly string[], short: string, long: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith(`${long}=`)) return a.slice(long.length + 1);
    if (a === short || a === long) return argv[i + 1];
    if (a.startsWith(short) && a.length > short.length) return a.slice(short.length);
  }
  return undefined;
}

function pidFileFinding(p: DnsmasqProcess, config: DoctorConfig): Finding {
  const pidFile = optionValue(p.argv, '-x', '--pid-file');
  return {
    id: 'dnsmasq-pid-file',
    severity: 'warning',
    subject: `dnsmasq pid ${p.pid}`,
    what: `dnsmasq pid ${p.pid} reads ${config.dnsmasqServersFile}, but dnsmasq_pid_file (${config.dnsmasqPidFile}) does not name it.`,
    why: config.dnsmasqMode === 'auto'
      ? 'With dnsmasq_mode = auto per-uplink DNS is on only while the dnsmasq of dnsmasq_pid_file reads the servers-file: it is off, and this dnsmasq gets no servers.'
      : 'After writing the servers-file the hooks SIGHUP only the pid in dnsmasq_pid_file; this dnsmasq keeps asking the old servers until restarted.',
    fix: [`# in ${config.configPath ?? 'the config'}: dnsmasq_pid_file = ${pidFile ?? `/run/dnsmasq/dnsmasq.pid   # and start dnsmasq with --pid-file=…`}`],
  };
}

/** dnsmasq_mode = auto: on (nothing to say), or off and how to turn it on. */
function autoMode(snap: HostSnapshot, config: DoctorConfig, signalled: DnsmasqProcess | undefined, readers: DnsmasqProcess[]): Finding[] {
  const { pidFromFile } = snap.dnsmasq;
  const found: PidFileDnsmasq = signalled
    ? { pid: signalled.pid, serversFiles: signalled.serversFiles }
    : { none: pidFromFile ? `pid ${pidFromFile} from ${config.dnsmasqPidFile} is not dnsmasq` : `no dnsmasq runs with the pid file ${config.dnsmasqPidFile}` };
  const decision = decideDns(config, () => found);
  if (decision.on) return [];
  if (readers.length) return [pidFileFinding(readers[0]!, config)];
  return [{
    id: 'dns-per-uplink-off',
    severity: 'info',
    subject: 'dnsmasq',
    what: `Per-uplink DNS is off: ${decision.why}.`,
    why: 'dhclient-script writes resolv.conf as it would without multihomed-routing: name resolution works, but the last lease\'s servers answer for every uplink, asked through whatever route main picks.',
    fix: howToTurnOn(config),
  }];
}

export const dnsmasq: Check = {
  id: 'dnsmasq',
  findings: ['dnsmasq-servers-file', 'dnsmasq-pid-file', 'dnsmasq-not-running', 'dns-per-uplink-off'],
  run(snap, config) {
    if (config.dnsmasqMode === 'no') return [];
    const file = config.dnsmasqServersFile;
    const { running, pidFromFile } = snap.dnsmasq;
    const signalled = running.find((p) => p.pid === pidFromFile);
    const readers = running.filter((p) => p.serversFiles.includes(file));
    if (config.dnsmasqMode === 'auto') return autoMode(snap, config, signalled, readers);
    if (signalled) {
      if (signalled.serversFiles.includes(file)) return [];
      const readsDir = signalled.argv.some((a) => /^(-7|--conf-dir)/.test(a)) || signalled.confFiles.some((f) => f.startsWith('/etc/dnsmasq.d/'));
      return [{
        id: 'dnsmasq-servers-file',
        severity: 'error',
        subject: `dnsmasq pid ${signalled.pid}`,
        what: `The dnsmasq in ${config.dnsmasqPidFile} (pid ${signalled.pid}) does not read our servers-file ${file}.`,
        why:
          `Name servers learned per interface are written there as server=NS@IFACE; this dnsmasq never sees them, so it asks ` +
          `${signalled.serversFiles.length ? `only ${signalled.serversFiles.join(', ')}` : 'its own upstreams'} through whatever route main picks. ` +
          `It reads: ${signalled.confFiles.length ? signalled.confFiles.join(', ') : 'no configuration file'}.`,
        fix: readsDir
          ? [`echo 'servers-file=${file}' > ${DROP_IN}`, 'systemctl restart dnsmasq']
          : [`echo 'servers-file=${file}' >> ${signalled.confFiles[0] ?? '/etc/dnsmasq.conf'}   # it reads no conf-dir`, 'systemctl restart dnsmasq'],
      }];
    }
    if (readers.length) return [pidFileFinding(readers[0]!, config)];
    if (!running.length) {
      return [{
        id: 'dnsmasq-not-running',
        severity: 'warning',
        subject: 'dnsmasq',
        what: 'dnsmasq_mode = yes, but no dnsmasq runs in this network namespace.',
        why: 'With dnsmasq_mode = yes dhclient-script leaves resolv.conf alone and the name servers learned per interface go only to dnsmasq\'s servers-file: without dnsmasq they are not used.',
        fix: ['apt-get install dnsmasq   # Debian, Ubuntu', `echo 'servers-file=${file}' > ${DROP_IN}`, 'systemctl restart dnsmasq', `# or: dnsmasq_mode = auto (the default) in ${config.configPath ?? 'the config'}: per-uplink DNS only while a dnsmasq reads the servers-file`],
      }];
    }
    return [{
      id: 'dnsmasq-servers-file',
      severity: 'error',
      subject: 'dnsmasq',
      what: `No running dnsmasq reads our servers-file ${file}, and ${config.dnsmasqPidFile} names none of them.`,
      why: `Name servers learned per interface never reach a resolver. Running: ${running.map((p) => `pid ${p.pid} (${p.confFiles.join(', ') || 'no conf file'})`).join('; ')}.`,
      fix: [`echo 'servers-file=${file}' > ${DROP_IN}`, 'systemctl restart dnsmasq', `# and dnsmasq_pid_file in ${config.configPath ?? 'the config'} = that dnsmasq's --pid-file`],
    }];
  },
};
