import { ruleOrderProblem } from './rule-order.js';
import { KEYS, type Config, type KeySpec } from './schema.js';
import { isDecimalDigits, isHexDigits, splitOn } from '../text/lex.js';
import { parsePin } from './pins.js';
import { HealthValueError, parseHealthKey, type HealthConfig } from './health.js';

// The config file: `key = value` lines, `#` comments, blank lines. Values are
// not quoted; lists are separated by white space. Unknown keys are errors, so
// a typo never silently falls back to a default.

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly key: string,
    expected: string,
    found: string,
  ) {
    super(`${file}:${line}: ${key}: expected ${expected}, found ${JSON.stringify(found)}`);
    this.name = 'ConfigError';
  }
}

type Raw = Record<string, { value: string; line: number }>;

function splitLines(text: string, file: string): Raw {
  const raw: Raw = {};
  text.split('\n').forEach((lineText, i) => {
    const line = i + 1;
    const hash = lineText.indexOf('#');
    const trimmed = (hash < 0 ? lineText : lineText.slice(0, hash)).trim();
    if (!trimmed) return;
    const eq = trimmed.indexOf('=');
    if (eq < 0) throw new ConfigError(file, line, trimmed, '`key = value`', lineText);
    const key = trimmed.slice(0, eq).trim();
    if (!KEYS.some((k) => k.key === key)) {
      throw new ConfigError(file, line, key, `one of ${KEYS.map((k) => k.key).join(', ')}`, key);
    }
    raw[key] = { value: trimmed.slice(eq + 1).trim(), line };
  });
  return raw;
}

const TRUE = new Set(['yes', 'true', 'on', '1']);
const FALSE = new Set(['no', 'false', 'off', '0']);

function checkInt(spec: KeySpec, value: string, fail: (e: string) => never, min = 0, max = 2 ** 32 - 2): number {
  if (!isDecimalDigits(value, 10) || Number(value) < min || Number(value) > max) {
    fail(`a whole number ${min}-${max}`);
  }
  return Number(value);
}

function convert(spec: KeySpec, value: string, fail: (expected: string) => never): unknown {
  switch (spec.kind) {
    case 'path':
      if (spec.key === 'metrics_textfile' && value === '') return '';
      if (spec.key === 'metrics_textfile' && !value.endsWith('.prom')) fail('an absolute path ending in .prom (node_exporter reads only those), or nothing');
      if (!value.startsWith('/') || value.includes('\0')) fail('an absolute path');
      return value;
    case 'int':
      // lease_reclaim_grace 0 would release a lease between a hook's request and its address being added.
      return checkInt(spec, value, fail, spec.key === 'protocol' || spec.key === 'lease_reclaim_grace' || spec.key === 'event_script_timeout_ms' ? 1 : 0, spec.key === 'protocol' ? 255 : undefined);
    case 'bool':
      if (TRUE.has(value.toLowerCase())) return true;
      if (FALSE.has(value.toLowerCase())) return false;
      return fail('yes or no');
    case 'auto-bool':
      if (value.toLowerCase() === 'auto') return 'auto';
      if (TRUE.has(value.toLowerCase())) return 'yes';
      if (FALSE.has(value.toLowerCase())) return 'no';
      return fail('auto, yes or no');
    case 'list':
      return splitOn(value, ' \t\r\f\v');
    case 'pins':
      return splitOn(value, ' \t\r\f\v').map((word) => {
        const pin = parsePin(word);
        return typeof pin === 'string' ? fail(`${pin} in "${word}"`) : pin;
      });
    case 'mask': {
      const hex = value.toLowerCase().startsWith('0x') ? value.slice(2) : '';
      const mask = isHexDigits(hex, 8) ? Number.parseInt(hex, 16) : 0;
      const low = mask & -mask;
      // Contiguous: adding the lowest bit carries through the whole run.
      if (!mask || ((mask + low) & mask) !== 0) fail('a contiguous hex mask like 0x1f00 (not 0)');
      return mask;
    }
    case 'health':
      try {
        return parseHealthKey(spec.key, value, splitOn(value, ' \t\r\f\v'));
      } catch (err) {
        if (err instanceof HealthValueError) return fail(err.message);
        throw err;
      }
    case 'range': {
      const dash = value.indexOf('-');
      const [first, last] = [value.slice(0, dash).trim(), value.slice(dash + 1).trim()];
      const m = dash > 0 && isDecimalDigits(first, 10) && isDecimalDigits(last, 10);
      const [lo, hi] = m ? [Number(first), Number(last)] : [0, 0];
      // 253-255 are the kernel's default, main and local tables; 0 is unspec.
      const reserved = (t: number) => t >= 253 && t <= 255;
      if (!m || lo < 1 || hi < lo || hi > 2 ** 32 - 2 || (lo <= 255 && hi >= 253) || reserved(lo)) {
        fail('FIRST-LAST with 1 <= FIRST <= LAST <= 4294967294, not covering tables 253-255');
      }
      return [lo, hi];
    }
  }
}

/** Parses config file text into a full Config (defaults for absent keys). */
export function parseConfig(text: string, file = '(config)'): Config {
  const raw = splitLines(text, file);
  const values: Record<string, unknown> = {};
  for (const spec of KEYS) {
    const given = raw[spec.key];
    const value = given?.value ?? spec.default;
    const fail = (expected: string): never => {
      throw new ConfigError(given ? file : '(defaults)', given?.line ?? 0, spec.key, expected, value);
    };
    values[spec.key] = convert(spec, value, fail);
  }
  const [tableMin, tableMax] = values.table_range as [number, number];
  const order = ruleOrderProblem(values as Record<string, number>, tableMax - tableMin + 1, (key) => key in raw);
  if (order) {
    const given = raw[order.key];
    const shown = given?.value ?? KEYS.find((k) => k.key === order.key)!.default;
    throw new ConfigError(given ? file : '(defaults)', given?.line ?? 0, order.key, order.expected, shown);
  }
  return {
    socketPath: values.socket_path as string,
    storePath: values.store_path as string,
    runDir: values.run_dir as string,
    tableMin,
    tableMax,
    leaseTime: values.lease_time as number,
    prefFrom: values.rule_pref_from as number,
    prefOif: values.rule_pref_oif as number,
    prefTo: values.rule_pref_to as number,
    prefMain: values.rule_pref_main as number,
    prefDefault: values.rule_pref_default as number,
    prefFwmark: values.rule_pref_fwmark as number,
    prefPin: values.rule_pref_pin as number,
    pins: values.pin as Config['pins'],
    fwmarkMask: values.fwmark_mask as number,
    protocol: values.protocol as number,
    interfacePriority: values.interface_priority as string[],
    ignoreInterfaces: values.ignore_interfaces as string[],
    dnsmasqServersFile: values.dnsmasq_servers_file as string,
    dnsmasqPidFile: values.dnsmasq_pid_file as string,
    dnsmasqMode: values.dnsmasq_mode as Config['dnsmasqMode'],
    looseRpFilter: values.loose_rp_filter as boolean,
    syslog: values.syslog as boolean,
    watchKernel: values.watch_kernel as boolean,
    manageSlaac: values.manage_slaac as boolean,
    adoptAddresses: values.adopt_addresses as boolean,
    adoptGraceMs: values.adopt_grace_ms as number,
    leaseReclaimGrace: values.lease_reclaim_grace as number,
    eventsDir: values.events_dir as string,
    metricsTextfile: values.metrics_textfile as string,
    eventScriptTimeoutMs: values.event_script_timeout_ms as number,
    health: {
      check: values.health_check as boolean,
      targets: values.health_targets as HealthConfig['targets'],
      methods: values.health_methods as HealthConfig['methods'],
      intervalMs: values.health_interval_ms as number,
      timeoutMs: values.health_timeout_ms as number,
      down: values.health_down as number,
      up: values.health_up as number,
      reliability: values.health_reliability as number,
      overrides: values.health_override as HealthConfig['overrides'],
    },
  };
}

/** The default config file, every key commented out with its documentation. */
export function renderDefaultConfig(): string {
  const lines = [
    '# multihomed-routing configuration. Every key is optional; the value shown',
    '# is the default. Format: `key = value`, lists separated by spaces.',
    '',
  ];
  for (const spec of KEYS) lines.push(`# ${spec.doc}`, `#${spec.key} = ${spec.default}`, '');
  return lines.join('\n');
}
