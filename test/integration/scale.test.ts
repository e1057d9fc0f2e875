// 64 interfaces whose hooks run at once: every address gets its own table,
// exactly one copy of each rule, and a dense, duplicate-free band (31000…) (the
// routing lock serialises the read-plan-apply of concurrent hooks).

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, type TestBed } from '../helpers/testbed.js';
import { ourRules, setUpRoutingHost, type RoutingHost } from './routing-host.js';

const N = 64;

describe(`${N} interfaces, hooks run concurrently`, () => {
  let bed: TestBed;
  let rh: RoutingHost;

  beforeAll(async () => {
    bed = await createTestBed({ name: 'rtscale', routers: [] });
    rh = await setUpRoutingHost(bed, '');
    const batch: string[] = [];
    for (let i = 0; i < N; i++) {
      batch.push(`link add up${i} type veth peer name dn${i}`, `link set up${i} up`, `link set dn${i} up`, `address add 10.1.${i}.2/24 dev up${i}`);
    }
    await bed.host.exec(['ip', '-batch', '-'], { input: `${batch.join('\n')}\n` });
  });
  afterAll(() => bed?.destroy());

  test('distinct tables, one copy of every rule, a dense band', async () => {
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        rh.hook({ IFACE: `up${i}`, ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: `10.1.${i}.2/24`, IF_GATEWAY: `10.1.${i}.1` }),
      ),
    );
    const wallMs = Date.now() - started;
    expect(results.filter((r) => r.exitCode !== 0 || /error/.test(r.stderr)).map((r) => r.stderr)).toEqual([]);
    const rules = await ourRules(bed.host, 4);
    // Four per address, and main's suppress rule once.
    expect(rules).toHaveLength(4 * N + 1);
    expect(new Set(rules).size).toBe(4 * N + 1);
    expect(rules).toContain('30000 lookup main suppress_prefixlength 0');
    const status = await rh.status();
    expect(status).toHaveLength(N);
    expect(new Set(status.map((s) => s.table)).size).toBe(N);
    expect(status.filter((s) => s.problems.length || s.degraded)).toEqual([]);
    const band = rules.filter((r) => /^310\d\d lookup \d+$/.test(r)).map((r) => Number(r.split(' ')[0])).sort((a, b) => a - b);
    expect(band).toEqual(Array.from({ length: N }, (_, i) => 31000 + i));
    // Natural order: up2 before up10.
    const tableOf = Object.fromEntries(status.map((s) => [s.ifname, s.table]));
    expect(rules).toContain(`31002 lookup ${tableOf.up2}`);
    expect(rules).toContain(`31010 lookup ${tableOf.up10}`);
    console.log(`scale: ${N} concurrent hooks in ${wallMs} ms`);
  });
});
