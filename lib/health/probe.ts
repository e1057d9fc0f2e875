// One probe through one uplink: ICMP echo, a DNS query over UDP or a TCP
// connect, sent from the uplink's managed address. The `from ADDRESS` rule
// (pref 10000) routes it through that address's table, so it leaves by the
// uplink's interface and gateway whatever the unbound band says: a down
// uplink keeps being probed through itself.
//
// Node has no raw or ICMP datagram sockets, so ICMP is one short iputils
// `ping -c 1` per probe (setuid-free: ping uses its own capability or
// ICMP datagram sockets); DNS and TCP are node sockets bound to the address,
// no process at all. docs/health.md says why and what it costs.

import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { randomInt } from 'node:crypto';
import type { Method } from '../config/health.js';
import { run } from '../exec/run.js';

export interface Probe {
  /** The managed address the probe is sent from. */
  source: string;
  family: 4 | 6;
  target: string;
  method: Method;
  timeoutMs: number;
  /** Bind to this device instead (ICMP only): the address is on several interfaces, so its `from` rule cannot tell them apart. */
  device?: string;
}

export interface ProbeResult {
  ok: boolean;
  rttMs?: number;
}

export type Prober = (probe: Probe) => Promise<ProbeResult>;

const failed: ProbeResult = { ok: false };

/** ICMP echo through iputils ping: exit 0 is a reply; the rtt comes from its summary. */
async function icmp(p: Probe): Promise<ProbeResult> {
  const wait = Math.max(0.1, p.timeoutMs / 1000).toFixed(1);
  const started = performance.now();
  let r;
  try {
    r = await run(['ping', `-${p.family}`, '-n', '-q', '-c', '1', '-W', wait, '-I', p.device ?? p.source, p.target], { reject: false, timeoutMs: p.timeoutMs + 1000 });
  } catch {
    return failed; // no ping: the next method answers for the target
  }
  if (r.exitCode !== 0) return failed;
  const m = /= ([\d.]+)\//.exec(r.stdout);
  return { ok: true, rttMs: m ? Number(m[1]) : performance.now() - started };
}

/** A query for the root's SOA (one short record back): any reply with our id counts, whatever its rcode. */
export function dnsQuery(id: number): Buffer {
  const b = Buffer.alloc(17);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(0x0100, 2); // recursion desired
  b.writeUInt16BE(1, 4); // one question
  b[12] = 0; // the root name
  b.writeUInt16BE(6, 13); // SOA
  b.writeUInt16BE(1, 15); // IN
  return b;
}

function dns(p: Probe): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const sock = createSocket(p.family === 4 ? 'udp4' : 'udp6');
    const id = randomInt(0, 0x10000);
    let started = 0;
    let settled = false;
    // Once: a late send error or a second answer must not close the socket again (close() throws when it is not running).
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => done(failed), p.timeoutMs);
    sock.on('error', () => done(failed));
    sock.on('message', (msg) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && msg[2]! & 0x80) done({ ok: true, rttMs: performance.now() - started });
    });
    sock.bind({ address: p.source, port: 0 }, () => {
      started = performance.now();
      sock.send(dnsQuery(id), p.method.port ?? 53, p.target, (err) => err && done(failed));
    });
  });
}

/** A TCP connect: an accepted or a refused connection both prove the path (a host answered). */
function tcp(p: Probe): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const sock = connect({ host: p.target, port: p.method.port ?? 443, localAddress: p.source, family: p.family });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok ? { ok, rttMs: performance.now() - started } : failed);
    };
    const timer = setTimeout(() => done(false), p.timeoutMs);
    sock.on('connect', () => done(true));
    sock.on('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}

/** The real prober. */
export const sendProbe: Prober = (p) => (p.method.name === 'icmp' ? icmp(p) : p.method.name === 'dns' ? dns(p) : tcp(p));
