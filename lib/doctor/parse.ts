// Pure parsers for what doctor reads from files: netplan YAML (which
// interfaces does it hand to networkd?), networkd's per-link state files, and
// the executable a hook file runs. (Which servers-files a dnsmasq reads:
// lib/dns/dnsmasq-conf.ts.)

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
    // `exec 3<>…` (the hand-over's slot) opens a file: an executable is a quoted or absolute path.
    const m = /^\s*(?:mhr_exe=|exec\s+(?=['"/]))(.*)$/.exec(line) ?? /\bRUN\+="\s*(?:\S*\/env(?:\s+-u\s+\S+)*\s+)?(.*)$/.exec(line);
    const word = m && /^(?:'([^']*)'|"([^"]*)"|([^\s'"]+))/.exec(m[1]!);
    if (word) return (word[1] ?? word[2] ?? word[3]) || undefined;
  }
  return undefined;
}
