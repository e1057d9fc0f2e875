// A diagnosis: what is wrong, why it matters, and the commands that fix it.

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  /** Stable code for scripts and docs: `reply-path`, `rp-filter-strict`, … */
  id: string;
  severity: Severity;
  /** What it is about: `eth1 192.168.2.10`, `dnsmasq`, `/etc/network/if-up.d/multihomed-routing`. */
  subject: string;
  /** One sentence: what is wrong. */
  what: string;
  /** Why it matters (and, where known, who caused it). */
  why: string;
  /** Commands or steps that fix it, in order; `#` starts a comment. */
  fix: string[];
}

/** Errors and warnings make `doctor` exit 1; info lines are advice only. */
export const isProblem = (f: Finding): boolean => f.severity !== 'info';

/** Every diagnosis id, with one line for the man page and the docs. */
export const DIAGNOSES: Readonly<Record<string, string>> = {
  'reply-path': 'replies from an address would leave by another interface (no `from A` rule of its own)',
  'no-source-rule': 'a multihomed host has an address without a `from A` rule: replies leave by the right interface only by chance',
  'rp-filter-strict': 'strict rp_filter on an interface that needs loose (same address on two interfaces, or asymmetric routing)',
  'main-default': 'a default route in main shadows band rules that come after main\'s rule (32766): old `iif lo` rules at 91000+; names who added it',
  degraded: 'an address runs on the fallback (routes in main, no table lease)',
  'incomplete': 'a managed address is missing some of its rules',
  'missing-table': 'an address holds a table lease but no rule or route of ours uses the table',
  'empty-table': 'rules of ours point at a table that holds no routes',
  'dnsmasq-servers-file': 'the dnsmasq we signal does not read our servers-file',
  'dnsmasq-pid-file': 'a dnsmasq reads our servers-file, but dnsmasq_pid_file does not name it (it is never told to reload)',
  'dnsmasq-not-running': 'dnsmasq_mode = yes but no dnsmasq runs',
  'dns-per-uplink-off': 'dnsmasq_mode = auto and no dnsmasq reads our servers-file: per-uplink DNS is off, dhclient-script writes resolv.conf (advice: how to turn it on)',
  'daemon-down': 'the daemon (table allocator) does not answer on its socket',
  'store-unwritable': 'the lease store cannot be written (read-only or full file system): leases live in the daemon\'s memory only',
  'upstream-down': "an uplink's link is up but its upstream does not answer the daemon's health probes (unbound traffic ranks it last while another uplink is up)",
  'hook-missing': 'a hook is not installed where ifupdown, dhclient or udev look for it',
  'hook-broken': 'a hook is installed but points at an executable that does not exist',
  'nm-dispatcher-missing': "NetworkManager is present but Debian's dispatcher script 01-ifupdown is not",
  'forward-no-route': 'a forwarding host: traffic arriving on a bridge (containers, VMs, a LAN) has no route out',
  'forward-no-nat': 'a forwarding host: a bridge with a private prefix has no masquerade rule, so its traffic gets no replies',
  'networkd-managed': 'systemd-networkd (or netplan with networkd) configures an interface: no hook of ours runs for it',
};
