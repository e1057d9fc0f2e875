// What the demo prints: numbered steps, ✓/✗ per check, excerpts of `ip`
// output, notes wrapped to 80 columns, and a last line that names the step
// that did not behave. With --json nothing is printed on the way; the whole
// report comes out as one JSON document at the end.

import { WIDTH, wrap as wrapWords } from '../text/wrap.js';

export interface CheckResult {
  ok: boolean;
  text: string;
  /** Why it failed (what was seen instead), shown under a ✗. */
  detail?: string;
}

export interface StepResult {
  n: number;
  title: string;
  ok: boolean;
  checks: CheckResult[];
  /** A failure that was not a check (a command that failed). */
  error?: string;
  durationMs: number;
}

export interface DemoReport {
  ok: boolean;
  durationMs: number;
  steps: StepResult[];
  /** The first step that did not behave. */
  failed?: { n: number; title: string; reason: string };
}

/** Cuts a line to the width, marking the cut. */
export function fit(line: string, width = WIDTH): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, width - 1).join('')}…`;
}

/** Wraps text at word boundaries (the first line starting with `first`), each line cut to the width. */
export const wrap = (text: string, indent: string, first = indent): string[] => wrapWords(text, indent, first).map((l) => fit(l));

/** A log line of ours (`message key=value …`) shortened: the command it ran, else the message. */
export function logGist(line: string): string {
  const text = line.replace(/^multihomed-routing [\w-]+: /, '');
  const run = /\bdo="((?:[^"\\]|\\.)*)"/.exec(text)?.[1];
  if (run) return run;
  return text.replace(/ \w+=\S.*$/, '');
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export class Reporter {
  readonly steps: StepResult[] = [];
  private current: StepResult | undefined;
  private started = 0;
  private readonly t0 = Date.now();

  constructor(private readonly write: (text: string) => void, readonly json = false) {}

  private print(lines: string[]): void {
    if (!this.json) this.write(`${lines.join('\n')}\n`);
  }

  title(text: string): void {
    this.print(wrap(text, ''));
  }

  /** Starts step n (default: the next number). */
  step(title: string, n = this.steps.length + 1): void {
    this.endStep();
    this.current = { n, title, ok: true, checks: [], durationMs: 0 };
    this.steps.push(this.current);
    this.started = Date.now();
    this.print(['', ...wrap(title, '    ', `${String(this.current.n).padStart(2)}. `)]);
  }

  /** Command output, indented, each line cut to 80 columns. */
  show(command: string, lines: string[]): void {
    this.print([fit(`    $ ${command}`), ...lines.map((l) => fit(`      ${l}`))]);
  }

  note(text: string): void {
    this.print(wrap(text, '    '));
  }

  check(ok: boolean, text: string, detail?: string): boolean {
    const c: CheckResult = { ok, text, ...(detail && !ok ? { detail } : {}) };
    const step = this.need();
    step.checks.push(c);
    if (!ok) step.ok = false;
    this.print([...wrap(text, '      ', `    ${ok ? '✓' : '✗'} `), ...(c.detail ? wrap(c.detail, '        ', '      → ') : [])]);
    return ok;
  }

  /** The step could not go on (a command failed). */
  fail(error: string): void {
    const step = this.need();
    step.ok = false;
    step.error = error;
    this.print(wrap(error, '        ', '    ✗ '));
  }

  get failed(): StepResult | undefined {
    return this.steps.find((s) => !s.ok);
  }

  private need(): StepResult {
    if (!this.current) throw new Error('no step started');
    return this.current;
  }

  private endStep(): void {
    if (this.current) this.current.durationMs = Date.now() - this.started;
    this.current = undefined;
  }

  /** The last lines; returns the report (what --json prints). */
  finish(skipped: string[] = []): DemoReport {
    this.endStep();
    const durationMs = Date.now() - this.t0;
    const bad = this.failed;
    const report: DemoReport = { ok: !bad, durationMs, steps: this.steps };
    if (bad) {
      const reason = bad.error ?? bad.checks.filter((c) => !c.ok).map((c) => `${c.text}: no${c.detail ? `, ${c.detail}` : ''}`).join('; ');
      report.failed = { n: bad.n, title: bad.title, reason };
    }
    if (this.json) {
      this.write(`${JSON.stringify(report, null, 2)}\n`);
      return report;
    }
    const lines = [''];
    if (skipped.length) lines.push(...wrap(`not run: ${skipped.join('; ')}`, '    ', '    '));
    lines.push(
      ...(bad
        ? wrap(`step ${bad.n} did not behave (${bad.title}): ${report.failed!.reason}. ${seconds(durationMs)}.`, '  ', '✗ ')
        : wrap(`all ${this.steps.length} steps behaved, in ${seconds(durationMs)}.`, '  ', '✓ ')),
    );
    this.print(lines);
    return report;
  }
}
