// The health_* keys (upstream health probes, lib/health): their values as
// typed settings, and the per-interface overrides (`health_override`), each
// checked when the config is loaded so a typo never probes something else.

import { ifnameMatches } from '../net/ifname.js';
import { tryParseIp } from '../net/address.js';

export type MethodName = 'icmp' | 'dns' | 'tcp';

/** A probe method: `icmp`, `dns` (UDP port 53), `tcp` (port 443) or `tcp:PORT` (a connect; refused counts as an answer). */
export interface Method {
  name: MethodName;
  port?: number;
}

/** What an uplink is probed with. */
export interface HealthSettings {
  check: boolean;
  targets: string[];
  methods: Method[];
  intervalMs: number;
  timeoutMs: number;
  down: number;
  up: number;
  reliability: number;
}

export interface HealthConfig extends HealthSettings {
  /** First matching pattern wins; its keys replace the global ones. */
  overrides: { pattern: string; set: Partial<HealthSettings> }[];
}

/** Parses one `methods` word; undefined when it is none. */
export function parseMethod(word: string): Method | undefined {
  if (word === 'icmp' || word === 'dns') return { name: word };
  const m = /^tcp(?::(\d{1,5}))?$/.exec(word);
  if (!m) return undefined;
  const port = m[1] === undefined ? 443 : Number(m[1]);
  return port >= 1 && port <= 65535 ? { name: 'tcp', port } : undefined;
}

export const methodText = (m: Method) => (m.name === 'tcp' ? `tcp:${m.port ?? 443}` : m.name);

/** Thrown with what was expected; the config parser adds file, line and key. */
export class HealthValueError extends Error {}

const MS = { min: 100, max: 3_600_000 };

function whole(value: string, min: number, max: number): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) < min || Number(value) > max) throw new HealthValueError(`a whole number ${min}-${max}`);
  return Number(value);
}

function targets(words: string[]): string[] {
  if (!words.length) throw new HealthValueError('at least one IPv4 or IPv6 address');
  return words.map((w) => {
    const ip = tryParseIp(w);
    if (!ip) throw new HealthValueError(`IPv4 or IPv6 addresses (${JSON.stringify(w)} is none)`);
    return ip.text;
  });
}

function methods(words: string[]): Method[] {
  if (!words.length) throw new HealthValueError('at least one of icmp, dns, tcp, tcp:PORT');
  return words.map((w) => parseMethod(w) ?? (() => { throw new HealthValueError(`icmp, dns, tcp or tcp:PORT (${JSON.stringify(w)} is none)`); })());
}

function bool(value: string): boolean {
  if (/^(yes|true|on|1)$/i.test(value)) return true;
  if (/^(no|false|off|0)$/i.test(value)) return false;
  throw new HealthValueError('yes or no');
}

const OVERRIDE_KEYS: Record<string, (v: string) => Partial<HealthSettings>> = {
  check: (v) => ({ check: bool(v) }),
  targets: (v) => ({ targets: targets(v.split('+')) }),
  methods: (v) => ({ methods: methods(v.split('+')) }),
  interval_ms: (v) => ({ intervalMs: whole(v, MS.min, MS.max) }),
  timeout_ms: (v) => ({ timeoutMs: whole(v, MS.min, MS.max) }),
  down: (v) => ({ down: whole(v, 1, 1000) }),
  up: (v) => ({ up: whole(v, 1, 1000) }),
  reliability: (v) => ({ reliability: whole(v, 1, 100) }),
};

/** `PATTERN:key=value,key=value` words; list values inside one are joined by `+`. */
function overrides(words: string[]): HealthConfig['overrides'] {
  return words.map((w) => {
    const colon = w.indexOf(':');
    const pattern = w.slice(0, colon);
    if (colon <= 0 || !w.slice(colon + 1)) throw new HealthValueError(`PATTERN:key=value,… (${JSON.stringify(w)})`);
    let set: Partial<HealthSettings> = {};
    for (const kv of w.slice(colon + 1).split(',')) {
      const eq = kv.indexOf('=');
      const parse = OVERRIDE_KEYS[kv.slice(0, eq)];
      if (eq < 0 || !parse) throw new HealthValueError(`keys ${Object.keys(OVERRIDE_KEYS).join(', ')} as key=value (${JSON.stringify(kv)} in ${pattern})`);
      set = { ...set, ...parse(kv.slice(eq + 1)) };
    }
    return { pattern, set };
  });
}

/** Converts one health_* key's value; throws HealthValueError with what was expected. */
export function parseHealthKey(key: string, value: string, words: string[]): unknown {
  switch (key) {
    case 'health_check':
      return bool(value);
    case 'health_targets':
      return targets(words);
    case 'health_methods':
      return methods(words);
    case 'health_interval_ms':
    case 'health_timeout_ms':
      return whole(value, MS.min, MS.max);
    case 'health_down':
    case 'health_up':
      return whole(value, 1, 1000);
    case 'health_reliability':
      return whole(value, 1, 100);
    case 'health_override':
      return overrides(words);
  }
  throw new HealthValueError(`a health key (${key} is none)`);
}

/** The settings for one interface: the first override whose pattern matches, over the global keys. */
export function settingsFor(h: HealthConfig, ifname: string): HealthSettings {
  const { overrides: list, ...global } = h;
  const o = list.find((x) => ifnameMatches(x.pattern, ifname));
  return o ? { ...global, ...o.set } : global;
}
