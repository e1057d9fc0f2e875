import type { HostSnapshot } from '../../../../lib/doctor/snapshot.js';
import { diagnoses, type Case } from './fixture.js';

// iptables-nft's `-t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`, as `nft -j` lists it.
const dockerNat = (prefix: string, len: number, target: object = { masquerade: null }) => JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6' } },
    { table: { family: 'ip', name: 'nat' } },
    { rule: { family: 'ip', table: 'nat', chain: 'POSTROUTING', expr: [
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: prefix, len } } } },
      { match: { op: '!=', left: { meta: { key: 'oifname' } }, right: 'docker0' } },
      { counter: { packets: 0, bytes: 0 } },
      target,
    ] } },
  ],
});

const bridge = (s: HostSnapshot, routed: boolean, nftJson?: string) => {
  s.forwarding = {
    ipForward: true,
    sources: [{ ifname: 'docker0', prefix: '172.17.0.0/16', from: '172.17.0.2', probe: '8.8.8.8', ...(routed ? { dev: 'eth0' } : { error: 'RTNETLINK answers: Network is unreachable' }) }],
    ...(nftJson !== undefined ? { nftJson } : {}),
  };
};

const cases: Case[] = [
  {
    name: 'containers with a route and their masquerade rule: nothing to say',
    breakIt: (s) => bridge(s, true, dockerNat('172.17.0.0', 16)),
    expected: [],
  },
  {
    name: 'no route for what arrives on the bridge: pin it, with the uplinks named',
    breakIt: (s) => bridge(s, false, dockerNat('172.17.0.0', 16)),
    expected: ['error forward-no-route docker0 172.17.0.0/16'],
    advice: [/has no route to the internet/, /Network is unreachable/, /pin = docker0:eth0/, /docker0:eth0,wlan1/, /ifdown eth0 && ifup eth0/],
  },
  {
    name: 'masquerade missing (Docker stopped with its rules flushed)',
    breakIt: (s) => bridge(s, true, JSON.stringify({ nftables: [{ metainfo: {} }] })),
    expected: ['warning forward-no-nat docker0 172.17.0.0/16'],
    advice: [/private source 172.17.0.0\/16/, /systemctl restart docker/, /never adds or removes NAT/],
  },
  {
    name: 'a masquerade for another prefix does not cover it; iptables-nft xt MASQUERADE and a whole /12 do',
    breakIt: (s) => bridge(s, true, dockerNat('172.18.0.0', 16)),
    expected: ['warning forward-no-nat docker0 172.17.0.0/16'],
  },
  {
    name: 'xt MASQUERADE over a wider prefix covers it',
    breakIt: (s) => bridge(s, true, dockerNat('172.16.0.0', 12, { xt: { type: 'target', name: 'MASQUERADE' } })),
    expected: [],
  },
  {
    name: 'not forwarding: bridges are not our business',
    breakIt: (s) => {
      bridge(s, false);
      s.forwarding!.ipForward = false;
    },
    expected: [],
  },
];

diagnoses('doctor check forwarding (lib/doctor/checks/forwarding.ts)', cases);
