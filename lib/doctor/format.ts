// The human form of doctor's findings: one block per finding, wrapped to 80
// columns: severity and subject, what, why, and the commands that fix it.

import { wrap } from '../text/wrap.js';
import type { Finding } from './findings.js';

const LABEL = { error: 'ERROR', warning: 'WARNING', info: 'NOTE' } as const;

export function formatFinding(f: Finding): string {
  const lines = [...wrap(`${LABEL[f.severity]} [${f.id}] ${f.subject}`, '')];
  lines.push(...wrap(f.what, '  '));
  lines.push(...wrap(f.why, '  '));
  if (f.fix.length) {
    lines.push('  Fix:');
    // Commands are not wrapped: they must stay copy-pasteable.
    for (const c of f.fix) lines.push(`    ${c}`);
  }
  return lines.join('\n');
}

/** The whole report; `checked` summarises what was looked at. */
export function formatReport(findings: readonly Finding[], checked: string): string {
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.filter((f) => f.severity === 'warning').length;
  const notes = findings.length - errors - warnings;
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const head = errors + warnings
    ? `doctor: ${count(errors, 'error')}, ${count(warnings, 'warning')}${notes ? `, ${count(notes, 'note')}` : ''} (${checked})`
    : `doctor: no problems found${notes ? ` (${count(notes, 'note')})` : ''} (${checked})`;
  return [...wrap(head, ''), ...findings.map((f) => `\n${formatFinding(f)}`)].join('\n') + '\n';
}
