// The health of one uplink (one managed address) as a pure state machine,
// fed one probe round at a time. No clock, no sockets: the prober
// (prober.ts) sends what `planRound` asks and hands the answers to
// `recordRound`, which says whether the health changed and why.
//
// A round probes `reliability` targets, taken in turn from the target list,
// and is good when all of them answered. `down` bad rounds in a row make
// the uplink down, `up` good rounds in a row make it up again; a first good
// round takes it from unknown to up (unknown ranks like up, so that changes
// no route). Each round sends one packet per target: the method that last
// answered that target. When it gets no answer, the next round asks the
// same target with the next method before the rotation moves on, so targets
// that drop ICMP but answer DNS cost one bad round each, once, and never
// make an uplink down; a real outage still fails every round.

import { methodText, type Method } from '../config/health.js';

export type Health = 'unknown' | 'up' | 'down';

export interface Thresholds {
  /** Bad rounds in a row that make an uplink down. */
  down: number;
  /** Good rounds in a row that bring a down uplink back. */
  up: number;
  /** Targets a round probes; all must answer for a good round. */
  reliability: number;
}

/** What one target answered in a round. */
export interface TargetAnswer {
  target: string;
  /** The method that answered; undefined: none did. */
  method?: Method;
  rttMs?: number;
  /** Probe packets sent (one per method tried). */
  sent: number;
}

export interface Sample {
  /** Milliseconds (any clock, the prober's). */
  at: number;
  sent: number;
  lost: number;
}

export interface Tracker {
  health: Health;
  /** When the health last changed (ms). */
  since: number;
  goodRun: number;
  badRun: number;
  /** Targets lost during the current bad run: the evidence of a down transition. */
  lostInRun: string[];
  /** Index of the next target in rotation. */
  cursor: number;
  /** Per target, the method to ask it with next (the one that last answered, or the next after a failure). */
  known: Record<string, string>;
  /** Per target of the current round, the methods that failed in a row on this visit. */
  tries: Record<string, number>;
  lastRttMs?: number;
  /** Targets that answered in their latest round. */
  answering: string[];
  /** Rounds of the last minute, oldest first. */
  samples: Sample[];
}

export interface Transition {
  from: Health;
  to: Health;
  /** e.g. `down after 3 rounds lost (1.1.1.1, 8.8.8.8)`. */
  evidence: string;
}

export const WINDOW_MS = 60_000;

export const initialTracker = (now: number): Tracker => ({
  health: 'unknown', since: now, goodRun: 0, badRun: 0, lostInRun: [], cursor: 0, known: {}, tries: {}, answering: [], samples: [],
});

/** The targets of the next round, each with the methods to try in order. */
export function planRound(t: Tracker, targets: readonly string[], methods: readonly Method[], th: Thresholds): { target: string; methods: Method[] }[] {
  const n = Math.min(Math.max(1, th.reliability), targets.length);
  const out: { target: string; methods: Method[] }[] = [];
  for (let i = 0; i < n; i++) {
    const target = targets[(t.cursor + i) % targets.length]!;
    out.push({ target, methods: [methods.find((m) => methodText(m) === t.known[target]) ?? methods[0]!] });
  }
  return out;
}

/**
 * Folds one round's answers into the tracker (`tried`: the method each
 * target was asked with, as planRound gave them, for the ones that did not
 * answer); a transition when the health changed.
 */
export function recordRound(t: Tracker, answers: readonly TargetAnswer[], th: Thresholds, methods: readonly Method[], targetCount: number, now: number): { tracker: Tracker; transition?: Transition } {
  const answered = answers.filter((a) => a.method);
  const lost = answers.filter((a) => !a.method).map((a) => a.target);
  const good = answers.length > 0 && answered.length >= Math.min(Math.max(1, th.reliability), targetCount);
  const known = { ...t.known };
  const tries: Record<string, number> = {};
  for (const a of answers) {
    if (a.method) {
      known[a.target] = methodText(a.method);
      continue;
    }
    // The next method, asked at the next round unless every method failed on this visit.
    const at = Math.max(0, methods.findIndex((m) => methodText(m) === t.known[a.target]));
    known[a.target] = methodText(methods[(at + 1) % methods.length]!);
    tries[a.target] = (t.tries[a.target] ?? 0) + 1;
  }
  const stay = Object.values(tries).some((n) => n < methods.length);
  const sent = answers.reduce((s, a) => s + a.sent, 0);
  const samples = [...t.samples.filter((s) => s.at > now - WINDOW_MS), { at: now, sent, lost: sent - answered.length }];
  const rtts = answered.map((a) => a.rttMs).filter((r): r is number => r !== undefined);
  const next: Tracker = {
    ...t,
    goodRun: good ? t.goodRun + 1 : 0,
    badRun: good ? 0 : t.badRun + 1,
    lostInRun: good ? [] : [...new Set([...t.lostInRun, ...lost])],
    cursor: targetCount && !stay ? (t.cursor + answers.length) % targetCount : t.cursor,
    known,
    tries: stay ? tries : {},
    ...(rtts.length ? { lastRttMs: Math.min(...rtts) } : {}),
    answering: answered.map((a) => a.target),
    samples,
  };
  let to: Health | undefined;
  let evidence = '';
  if (t.health !== 'down' && next.badRun >= th.down) {
    to = 'down';
    evidence = `down after ${next.badRun} rounds lost (${next.lostInRun.join(', ')})`;
  } else if (t.health === 'down' && next.goodRun >= th.up) {
    to = 'up';
    evidence = `up after ${next.goodRun} rounds answered (${answered.map((a) => `${a.target} ${methodText(a.method!)}`).join(', ')})`;
  } else if (t.health === 'unknown' && good) {
    to = 'up';
    evidence = `up: ${answered.map((a) => `${a.target} ${methodText(a.method!)}`).join(', ')} answered`;
  }
  if (!to) return { tracker: next };
  return { tracker: { ...next, health: to, since: now }, transition: { from: t.health, to, evidence } };
}

/** Loss over the window, as a fraction of the probe packets sent (undefined: none sent). */
export function lossOf(t: Tracker, now: number): number | undefined {
  const recent = t.samples.filter((s) => s.at > now - WINDOW_MS);
  const sent = recent.reduce((s, x) => s + x.sent, 0);
  return sent ? recent.reduce((s, x) => s + x.lost, 0) / sent : undefined;
}

/**
 * The uplink lost its carrier: the kernel already routes around it
 * (ignore_routes_with_linkdown), and when the carrier returns it must take its
 * rank at once, as without probes. Back to unknown (ranks like up), with
 * fresh counts; the probes judge it again from there.
 */
export function carrierLost(t: Tracker, now: number): { tracker: Tracker; transition?: Transition } {
  const tracker: Tracker = { ...t, health: 'unknown', goodRun: 0, badRun: 0, lostInRun: [], tries: {}, answering: [] };
  if (t.health === 'unknown') return { tracker };
  return { tracker: { ...tracker, since: now }, transition: { from: t.health, to: 'unknown', evidence: 'carrier lost: unknown until the probes answer again (the kernel routes around it meanwhile)' } };
}
