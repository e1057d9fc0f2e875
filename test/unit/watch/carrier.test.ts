import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/parse.js';
import { carrierLosses } from '../../../lib/watch/carrier.js';
import { link, state } from '../plan/fake-kernel.js';

const config = parseConfig('');
const host = (eth1: boolean, docker0: boolean) => {
  const s = state({
    links: [link(2, 'eth1', '10.61.1.2/24'), link(3, 'docker0', '172.17.0.1/16')],
    rules: ['10000 from 10.61.1.2/32 lookup 10001 proto 201', '15000 oif eth1 lookup 10001 proto 201'],
  });
  s.links[0]!.carrier = eth1;
  s.links[1]!.carrier = docker0;
  return s;
};

describe('carrier losses of managed uplinks', () => {
  it('the first pass only remembers; a managed uplink losing carrier is reported with its address', () => {
    const first = carrierLosses(undefined, host(false, true), config);
    expect(first.losses).toEqual([]);
    const back = carrierLosses(first.memory, host(true, true), config);
    expect(back.losses).toEqual([]);
    const lost = carrierLosses(back.memory, host(false, false), config);
    expect(lost.losses.map((l) => `${l.ifname} ${l.family} ${l.address.text}`)).toEqual(['eth1 4 10.61.1.2']);
    // Still down: no second flush.
    expect(carrierLosses(lost.memory, host(false, false), config).losses).toEqual([]);
  });
});
