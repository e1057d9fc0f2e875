import { describe, expect, it } from 'vitest';
import { initialTracker, lossOf, planRound, recordRound, type Thresholds, type Tracker } from '../../../lib/health/machine.js';
import { parseConfig } from '../../../lib/config/parse.js';
import type { Method } from '../../../lib/config/health.js';

const ICMP: Method = { name: 'icmp' };
const DNS: Method = { name: 'dns' };
const TARGETS = ['1.1.1.1', '1.0.0.1', '8.8.8.8', '9.9.9.9', '208.67.222.222'];
const defaults = parseConfig('').health;
const TH: Thresholds = { down: defaults.down, up: defaults.up, reliability: defaults.reliability };

/** Runs rounds given as a string: `+` answered, `-` lost (every target of the round), `i` only DNS answers. */
function feed(rounds: string, th = TH, start: Tracker = initialTracker(0), startAt = 0) {
  let t = start;
  const transitions: { round: number; to: string; evidence: string }[] = [];
  [...rounds].forEach((c, i) => {
    const plan = planRound(t, TARGETS, [ICMP, DNS], th);
    const answers = plan.map((p) => {
      if (c === '+') return { target: p.target, method: p.methods[0]!, rttMs: 12, sent: 1 };
      if (c === 'i') return p.methods[0]!.name === 'dns' ? { target: p.target, method: DNS, rttMs: 20, sent: 1 } : { target: p.target, sent: 1 };
      return { target: p.target, sent: 1 };
    });
    const r = recordRound(t, answers, th, [ICMP, DNS], TARGETS.length, startAt + (i + 1) * 1000);
    t = r.tracker;
    if (r.transition) transitions.push({ round: i + 1, to: r.transition.to, evidence: r.transition.evidence });
  });
  return { t, transitions };
}

describe('health state machine with the default settings', () => {
  it('meets the goals: detection within 5 s and recovery within 10 s at one packet per second, no flapping on one loss', () => {
    expect(defaults.intervalMs).toBe(1000);
    expect(defaults.reliability).toBe(1);
    // worst case detection: the upstream dies just after an answered probe; `down` probes then time out.
    expect(defaults.intervalMs * defaults.down + defaults.timeoutMs).toBeLessThanOrEqual(5000);
    // recovery: the next probe after the return, then `up` - 1 more; one more lost probe costs `up` rounds again.
    expect(defaults.intervalMs * (defaults.up + 1)).toBeLessThanOrEqual(10_000);
    expect(defaults.down).toBeGreaterThan(1);
  });

  it.each([
    ['first answer: unknown → up', '+', ['1:up']],
    ['one lost round changes nothing', '++-+++', ['1:up']],
    ['down-1 lost rounds change nothing', '++--+-', ['1:up']],
    ['down lost rounds in a row: down', '+---', ['1:up', '4:down']],
    ['unknown → down when nothing ever answers', '---', ['3:down']],
    ['back up after `up` good rounds', '+---++++', ['1:up', '4:down', '8:up']],
    ['a loss during recovery restarts the count', '+---+++-++++', ['1:up', '4:down', '12:up']],
    ['up-1 good rounds are not enough', '+---+++-', ['1:up', '4:down']],
  ])('%s', (_name, rounds, want) => {
    expect(feed(rounds).transitions.map((x) => `${x.round}:${x.to}`)).toEqual(want);
  });

  it('names the targets lost as evidence', () => {
    const { transitions } = feed('+---');
    expect(transitions[1]!.evidence).toBe('down after 3 rounds lost (1.0.0.1, 8.8.8.8)');
  });

  it('rotates through the targets, one per round (one packet per second once methods are known)', () => {
    let t = initialTracker(0);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const plan = planRound(t, TARGETS, [ICMP, DNS], TH);
      expect(plan).toHaveLength(1);
      seen.push(plan[0]!.target);
      t = recordRound(t, plan.map((p) => ({ target: p.target, method: ICMP, sent: 1 })), TH, [ICMP, DNS], TARGETS.length, i * 1000).tracker;
    }
    expect(seen).toEqual([...TARGETS, TARGETS[0]]);
    expect(planRound(t, TARGETS, [ICMP, DNS], TH)[0]!.methods).toEqual([ICMP]);
  });

  it('targets that drop ICMP but answer DNS keep the uplink up; the method sticks', () => {
    // from the start, and after ICMP answered for a while
    for (const rounds of ['iiiiiiiiii', '++++++iiiiiiiiiiii']) {
      const { t, transitions } = feed(rounds);
      expect(transitions.map((x) => x.to)).toEqual(['up']);
      expect(Object.values(t.known)).toEqual(Array(5).fill('dns'));
      // once known, one packet per round, each target asked once per rotation
      expect(planRound(t, TARGETS, [ICMP, DNS], TH)[0]!.methods).toEqual([DNS]);
      expect(t.samples.slice(-1)[0]).toMatchObject({ sent: 1, lost: 0 });
    }
  });

  it('a lost target is asked again with the next method before the rotation moves on', () => {
    let t = initialTracker(0);
    t = recordRound(t, [{ target: '1.1.1.1', sent: 1 }], TH, [ICMP, DNS], 5, 1000).tracker;
    expect(planRound(t, TARGETS, [ICMP, DNS], TH)).toEqual([{ target: '1.1.1.1', methods: [DNS] }]);
    t = recordRound(t, [{ target: '1.1.1.1', sent: 1 }], TH, [ICMP, DNS], 5, 2000).tracker;
    expect(planRound(t, TARGETS, [ICMP, DNS], TH)).toEqual([{ target: '1.0.0.1', methods: [ICMP] }]);
  });

  it('reliability 2: both targets of the round must answer', () => {
    const th = { ...TH, reliability: 2 };
    const t = initialTracker(0);
    const plan = planRound(t, TARGETS, [ICMP], th);
    expect(plan.map((p) => p.target)).toEqual(['1.1.1.1', '1.0.0.1']);
    const half = recordRound(t, [{ target: '1.1.1.1', method: ICMP, sent: 1 }, { target: '1.0.0.1', sent: 1 }], th, [ICMP], 5, 1000);
    expect(half.tracker.badRun).toBe(1);
    expect(half.tracker.cursor).toBe(2);
  });

  it('counts loss over the last minute only', () => {
    const { t } = feed('+-+-', TH);
    expect(lossOf(t, 4000)).toBeCloseTo(2 / 4);
    expect(lossOf(t, 70_000)).toBeUndefined();
  });
});
