// The daemon's config, re-read on SIGHUP (`systemctl reload`). A file that
// does not parse leaves the config in use as it is. Keys the running
// services were built from (paths, table range, lease time, protocol, the
// watcher itself) keep their old values until a restart: the reload says
// which, and until then the daemon keeps refusing hooks' jobs (they were
// planned with the file as it is now), so hooks work alone as before.

import { statSync } from 'node:fs';
import { loadConfig } from './load.js';
import type { Config } from './schema.js';

/** Keys that take effect only at a restart. */
export const RESTART_KEYS: readonly (keyof Config)[] = ['socketPath', 'storePath', 'runDir', 'tableMin', 'tableMax', 'leaseTime', 'protocol', 'watchKernel'];

export type ReloadOutcome =
  | { ok: true; changed: (keyof Config)[]; restart: (keyof Config)[] }
  | { ok: false; error: string };

export interface LiveConfig {
  readonly path: string;
  current(): Config;
  /** The file's identity when the config in use was read ('' when it differs from the file: jobs refused). */
  stamp(): string;
  reload(): ReloadOutcome;
}

const FILE_KEYS: Partial<Record<keyof Config, string>> = { tableMin: 'table_range', tableMax: 'table_range', prefFrom: 'rule_pref_from', prefOif: 'rule_pref_oif', prefTo: 'rule_pref_to', prefMain: 'rule_pref_main', prefFwmark: 'rule_pref_fwmark', prefPin: 'rule_pref_pin', prefDefault: 'rule_pref_default' };

/** The config file's names of `keys` (`interface_priority`, not interfacePriority), each once. */
export const fileKeys = (keys: readonly (keyof Config)[]): string[] => [...new Set(keys.map((k) => FILE_KEYS[k] ?? k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)))];

/** mtime, size and inode of a file, or 'missing'. */
export function stampOf(path: string): string {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return 'missing';
  }
}

/** The fresh config with the restart-only keys of `old`, and what differs. */
export function mergeReload(old: Config, fresh: Config): { config: Config; changed: (keyof Config)[]; restart: (keyof Config)[] } {
  const keys = Object.keys(fresh) as (keyof Config)[];
  const changed = keys.filter((k) => JSON.stringify(old[k]) !== JSON.stringify(fresh[k]));
  const restart = changed.filter((k) => RESTART_KEYS.includes(k));
  const config = { ...fresh };
  for (const k of restart) (config as Record<string, unknown>)[k] = old[k];
  return { config, changed: changed.filter((k) => !restart.includes(k)), restart };
}

/** `config` as read from `path` at start (stamped now: read it just before). */
export function liveConfig(path: string, config: Config, load: (path: string) => Config = loadConfig): LiveConfig {
  let current = config;
  let stamp = stampOf(path);
  return {
    path,
    current: () => current,
    stamp: () => stamp,
    reload() {
      const before = stampOf(path);
      let fresh: Config;
      try {
        fresh = load(path);
      } catch (err) {
        return { ok: false, error: (err as Error).message };
      }
      const merged = mergeReload(current, fresh);
      current = merged.config;
      stamp = merged.restart.length ? '' : before;
      return { ok: true, changed: merged.changed, restart: merged.restart };
    },
  };
}
