import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../../lib/doctor/checks/index.js';
import { DIAGNOSES } from '../../../../lib/doctor/findings.js';
import { diagnoses } from './fixture.js';

diagnoses('doctor checks together', [{ name: 'healthy host', breakIt: () => {}, expected: [] }]);

describe('the list of checks', () => {
  it('reports every diagnosis of the docs from exactly one check', () => {
    const ids = CHECKS.flatMap((c) => c.findings);
    expect([...ids].sort()).toEqual(Object.keys(DIAGNOSES).sort());
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('names each check after its file in lib/doctor/checks', () => {
    const dir = path.resolve(import.meta.dirname, '../../../../lib/doctor/checks');
    const files = fs.readdirSync(dir).filter((f) => f !== 'index.ts').map((f) => f.replace(/\.ts$/, ''));
    expect(CHECKS.map((c) => c.id).sort()).toEqual(files.sort());
  });
});
