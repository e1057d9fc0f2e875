import { readFileSync } from 'node:fs';
import { parseConfig } from './parse.js';
import type { Config } from './schema.js';

export const DEFAULT_CONFIG_PATH = '/etc/multihomed-routing/multihomed-routing.conf';
/** Environment variable naming another config file (tests, several instances). */
export const CONFIG_ENV = 'MULTIHOMED_ROUTING_CONFIG';

/** Which config file to read: --config, then the environment, then the default. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env[CONFIG_ENV] ?? DEFAULT_CONFIG_PATH;
}

/** Reads and parses the config file; a missing file means all defaults. */
export function loadConfig(path: string): Config {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return parseConfig(text, path);
}
