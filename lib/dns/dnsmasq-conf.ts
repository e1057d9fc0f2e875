// Which servers-files a dnsmasq reads: its command line (/proc/PID/cmdline)
// and the configuration files it names, followed as dnsmasq does (the default
// file, conf-file, conf-dir with its filters). Pure: file access is passed in.
// Used by the DNS decision (lib/dns/mode.ts) and by doctor.

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
