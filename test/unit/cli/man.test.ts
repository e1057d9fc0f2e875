import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../hooks/main.js';
import { KEYS } from '../../../lib/config/schema.js';
import { DIAGNOSES } from '../../../lib/doctor/findings.js';
import { describeCommands } from '../../../lib/cli/help-command.js';
import { renderManPage, roff } from '../../../lib/cli/man.js';

const root = new URL('../../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
const committed = readFileSync(new URL('man/multihomed-routing.8', root), 'utf8');

describe('manual page', async () => {
  const page = renderManPage(await describeCommands(COMMANDS), pkg.version);

  it('man/multihomed-routing.8 is what `help man` generates (regenerate: npm run man)', () => {
    expect(committed).toBe(page);
  });

  it('names every command, every config key with its default, every diagnosis', () => {
    for (const name of Object.keys(COMMANDS)) expect(page).toContain(`.B ${roff(name)}\n`);
    for (const k of KEYS) expect(page).toContain(`.B ${roff(k.key)}\n${roff(k.doc)} Default: ${roff(k.default)}.`);
    for (const id of Object.keys(DIAGNOSES)) expect(page).toContain(`.B ${roff(id)}\n`);
    for (const section of ['NAME', 'SYNOPSIS', 'COMMANDS', 'OPTIONS', 'HOOKS', 'CONFIGURATION', 'EXIT STATUS', 'FILES', 'EXAMPLES']) {
      expect(page).toContain(`.SH ${section}\n`);
    }
  });

  it('roff escapes what troff would misread', () => {
    expect(roff(".x 'y a-b c\\d `code` …")).toBe('\\&.x \'y a\\-b c\\ed \\fBcode\\fR ...');
    expect(roff('ü')).toBe('\\[u00FC]');
  });
});
