// Pure parsers for what doctor reads from files: dnsmasq's command line and
// configuration (which servers-files does it read?), netplan YAML (which
// interfaces does it hand to networkd?), networkd's per-link state files, and
// the executable a hook file runs. File access is passed in.

export interface ConfFs {
  /** File contents, or undefined when it cannot be read. */
  read(path: string): string | undefined;
  /** Names in a directory, or undefined when it is not one. */
  list(dir: string): string[] | undefined;
}

/** The configuration file dnsmasq reads when no --conf-file is given (Debian's build). */
export const DNSMASQ_DEFAULT_CONF = '/etc/dnsmasq.conf';

const LONG: Record<string, string> = { C: 'conf-file', '7': 'conf-dir', x: 'pid-file' };

/** `key=value` pairs from a dnsmasq argv (long and the few short options we care about). */
function argvOptions(argv: readonly string[]): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      // dnsmasq's long options take their value after '=' (getopt also accepts the next word for required args).
      if (eq > 0) out.push([a.slice(2, eq), a.slice(eq + 1)]);
      else if (['conf-file', 'conf-dir', 'servers-file', 'pid-file'].includes(a.slice(2)) && argv[i + 1] && !argv[i + 1]!.startsWith('-')) {
        out.push([a.slice(2), argv[++i]]);
      } else out.push([a.slice(2), undefined]);
    } else if (a.startsWith('-') && a.length >= 2 && LONG[a[1]!]) {
      const value = a.length > 2 ? a.slice(2) : argv[++i];
      out.push([LONG[a[1]!]!, value]);
    }
  }
  return out;
}

/** `key=value` lines of a dnsmasq configuration file. */
function fileOptions(text: string): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    out.push(eq < 0 ? [line, undefined] : [line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return out;
}

/** Files of a `conf-dir=DIR[,.ext…][,*.ext…]`, in the order dnsmasq reads them. */
function confDirFiles(spec: string, fs: ConfFs): string[] {
  const [dir, ...filters] = spec.split(',').map((s) => s.trim());
  if (!dir) return [];
  const names = fs.list(dir);
  if (!names) return [];
  const only = filters.filter((f) => f.startsWith('*')).map((f) => f.slice(1));
  const skip = filters.filter((f) => !f.startsWith('*'));
  return names
    .filter((n) => !n.startsWith('.') && !n.endsWith('~') && !(n.startsWith('#') && n.endsWith('#')))
    .filter((n) => (only.length ? only.some((s) => n.endsWith(s)) : true) && !skip.some((s) => n.endsWith(s)))
    .sort()
    .map((n) => `${dir.replace(/\/$/, '')}/${n}`);
}

/** Which servers-files and conf files a dnsmasq started with `argv` reads. */
export function dnsmasqReads(argv: readonly string[], fs: ConfFs): { serversFiles: string[]; confFiles: string[] } {
  const serversFiles: string[] = [];
  const confFiles: string[] = [];
  const seen = new Set<string>();
  const apply = (options: [string, string | undefined][], depth: number) => {
    for (const [key, value] of options) {
      if (key === 'servers-file' && value) serversFiles.push(value);
      else if (key === 'conf-file' && value) readFile(value, depth);
      else if (key === 'conf-dir' && value) for (const f of confDirFiles(value, fs)) readFile(f, depth);
    }
  };
  const readFile = (path: string, depth: number) => {
    if (seen.has(path) || depth > 8) return;
    seen.add(path);
    const text = fs.read(path);
    if (text === undefined) return;
    confFiles.push(path);
    apply(fileOptions(text), depth + 1);
  };
  const cli = argvOptions(argv);
  // Without --conf-file dnsmasq reads its default file first; a bare --conf-file means none.
  if (!cli.some(([k]) => k === 'conf-file')) readFile(DNSMASQ_DEFAULT_CONF, 0);
  apply(cli, 0);
  return { serversFiles, confFiles };
}

/** Interfaces named in a netplan file, with the renderer that gets them. */
export function parseNetplan(text: string): { ifname: string; renderer: string }[] {
  const lines = text.split('\n').map((l) => l.replace(/\s+#.*$/, '')).filter((l) => l.trim() && !l.trim().startsWith('#'));
  const indentOf = (l: string) => l.length - l.trimStart().length;
  let globalRenderer = 'networkd';
  const out: { ifname: string; renderer: string; own?: string }[] = [];
  let section: number | undefined; // indent of the `ethernets:` … key
  let childIndent: number | undefined;
  let current: (typeof out)[number] | undefined;
  for (const l of lines) {
    const indent = indentOf(l);
    const m = /^([\w.@-]+|"[^"]*"):\s*(.*)$/.exec(l.trim());
    if (!m) continue;
    const key = m[1]!.replace(/^"|"$/g, '');
    const value = m[2]!.trim().replace(/^["']|["']$/g, '');
    if (section !== undefined && indent <= section) {
      section = undefined;
      current = undefined;
    }
    if (section === undefined) {
      if (['ethernets', 'wifis', 'modems', 'bonds', 'bridges', 'vlans'].includes(key)) {
        section = indent;
        childIndent = undefined;
      } else if (key === 'renderer' && value) globalRenderer = value;
      continue;
    }
    childIndent ??= indent;
    if (indent === childIndent) {
      current = { ifname: key, renderer: '' };
      out.push(current);
    } else if (current && indent > childIndent) {
      if (key === 'renderer' && value) current.own = value;
      if (key === 'set-name' && value) current.ifname = value;
    }
  }
  return out.map((d) => ({ ifname: d.ifname, renderer: d.own ?? globalRenderer }));
}

/** systemd-networkd's /run/systemd/netif/links/IFINDEX: does it configure the link, and with which file? */
export function parseNetworkdLink(text: string): { managed: boolean; networkFile?: string } {
  const values = Object.fromEntries(
    text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const state = values.ADMIN_STATE ?? '';
  const networkFile = values.NETWORK_FILE || undefined;
  const managed = !!networkFile && !['unmanaged', 'linger', ''].includes(state);
  return networkFile ? { managed, networkFile } : { managed };
}

/**
 * The executable a hook file runs, read from the line that runs it, as install.sh writes each: the
 * dhclient shim's `mhr_exe='…'`, an ifupdown hook's `exec … ifupdown`, the udev rule's `RUN+="… udev-remove"`.
 * Comments are skipped: the shim's header names the shim's own path.
 */
export function hookTarget(text: string): string | undefined {
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    // The udev rule starts it through `env -u NAME…` (install.sh's RUNTIME_ENV): the target follows.
    const m = /^\s*(?:mhr_exe=|exec\s+)(.*)$/.exec(line) ?? /\bRUN\+="\s*(?:\S*\/env(?:\s+-u\s+\S+)*\s+)?(.*)$/.exec(line);
    const word = m && /^(?:'([^']*)'|"([^"]*)"|([^\s'"]+))/.exec(m[1]!);
    if (word) return (word[1] ?? word[2] ?? word[3]) || undefined;
  }
  return undefined;
}
