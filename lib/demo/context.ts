// What the demo's steps share: the sandbox, the report, what step 3 found,
// and the checks several steps make (which router a ping really crossed,
// which device `ip route get` picks).

import { poll } from '../sandbox/netns.js';
import type { Reporter } from './report.js';
import { INTERNET, UPLINKS, type Sandbox } from './sandbox.js';

/** One step: its title (numbered by its place in the list) and what it does and checks. */
export interface Step {
  title: string;
  run(ctx: DemoContext): Promise<void>;
}

export interface Rule {
  priority: number;
  src?: string;
  dst?: string;
  iif?: string;
  oif?: string;
  table: string;
  protocol?: string;
  suppress_prefixlen?: number;
}

export interface Route {
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  flags?: string[];
}

/** What step 3 found per uplink. */
export interface Managed {
  ifname: string;
  address: string;
  table: string;
  gateway: string;
}

interface Crossing {
  replied: boolean;
  /** Indexes of the routers that forwarded it. */
  routers: number[];
}

export const lines = (text: string) => text.split('\n').map((l) => l.replace(/\t/g, ' ').trimEnd()).filter(Boolean);

export const routerOf = (ifname: string) => UPLINKS.findIndex((u) => u.ifname === ifname);
export const routerName = (i: number) => `${UPLINKS[i]!.ifname}'s router`;

export class DemoContext {
  /** Filled by step 3; the later steps check against it. */
  readonly managed: Managed[] = [];

  constructor(
    readonly sb: Sandbox,
    readonly report: Reporter,
    /** Test aid: a component left out, so that the step depending on it fails. */
    readonly broken?: 'udev' | 'watcher',
  ) {}

  byName(ifname: string): Managed {
    return this.managed.find((m) => m.ifname === ifname)!;
  }

  /** Runs `send`, then says which routers forwarded an echo request (or reply) from their LAN. */
  async through(kind: 'request' | 'reply', send: () => Promise<boolean>): Promise<Crossing> {
    const before = await this.sb.counters();
    const replied = await send();
    const after = await this.sb.counters();
    return { replied, routers: after.flatMap((c, i) => (c[kind] > before[i]![kind] ? [i] : [])) };
  }

  /** The check for traffic that must reply and cross router `want` only. */
  via(r: Crossing, want: number, text: string): void {
    this.report.check(
      r.replied && r.routers.length === 1 && r.routers[0] === want,
      text,
      `${r.replied ? 'reply' : 'no reply'}; forwarded by ${r.routers.map(routerName).join(', ') || 'no router'}`,
    );
  }

  /** Pings the internet (unbound) until a reply, up to `tries` times; the crossing of the last. */
  async pingInternet(tries = 1): Promise<Crossing> {
    let r = await this.through('request', () => this.sb.host.ping(INTERNET));
    for (let n = 1; n < tries && !r.replied; n++) r = await this.through('request', () => this.sb.host.ping(INTERNET));
    return r;
  }

  /** The interface whose table the first `from ADDRESS` rule looks up. */
  firstOwner(rules: Rule[], address: string): string {
    const first = rules.filter((r) => r.src === address).sort((a, b) => a.priority - b.priority)[0];
    return this.managed.find((m) => m.table === first?.table)?.ifname ?? '?';
  }

  /** The rules of the host's IPv4 policy database. */
  rules(): Promise<Rule[]> {
    return this.sb.host.ipJson<Rule[]>(['-N', '-4', 'rule', 'show']);
  }

  /** Shows `ip route get INTERNET` (polled up to `waitMs` until it picks `want`); true when it picks `want`. */
  async picks(want: string, waitMs = 0): Promise<boolean> {
    let out: string[] = [];
    const ok = await poll(async () => new RegExp(` dev ${want} `).test((out = await this.sb.host.ipLines(['route', 'get', INTERNET]))[0] ?? ''), waitMs);
    this.report.show(`ip route get ${INTERNET}`, out.filter((l) => l.trim() !== 'cache'));
    return !!ok;
  }

  /** The link's flags (`UP`, `NO-CARRIER`, …). */
  async linkFlags(ifname: string): Promise<string[]> {
    return (await this.sb.host.ipJson<Array<{ flags: string[] }>>(['link', 'show', 'dev', ifname]))[0]?.flags ?? [];
  }
}
