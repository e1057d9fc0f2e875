#!/usr/bin/env node
// Allocator benchmark against the built executable (run `npm run build`
// first): latency of one `lease request` process (p50/p99), wall time of 200
// concurrent ones (with only PATH in the environment, as hooks run), and the daemon's RSS at start and after 10,000
// request/release cycles over raw socket connections. Prints one JSON object
// on stdout and a summary on stderr.
//
//   node build/bench/allocator.mjs [--exe dist/multihomed-routing] [--runs 50] [--cycles 10000]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    exe: { type: 'string', default: resolve(import.meta.dirname, '../../dist/multihomed-routing') },
    runs: { type: 'string', default: '50' },
    cycles: { type: 'string', default: '10000' },
  },
});
const exe = resolve(args.exe);
const runs = Number(args.runs);
const cycles = Number(args.cycles);

const dir = mkdtempSync(join(tmpdir(), 'mhr-bench-alloc-'));
const config = join(dir, 'multihomed-routing.conf');
const socket = join(dir, 'run', 'allocator.sock');
writeFileSync(config, `socket_path = ${socket}\nstore_path = ${join(dir, 'leases.json')}\ntable_range = 100000-199999\nsyslog = no\nrun_dir = ${join(dir, 'run')}\n# the machine's own namespace: no kernel watcher here\nwatch_kernel = no\n`);

const status = (pid, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

function runExe(argv) {
  return new Promise((ok, fail) => {
    const started = performance.now();
    const p = spawn(exe, argv, { stdio: ['ignore', 'pipe', 'ignore'], env: { PATH: process.env.PATH } });
    let out = '';
    p.stdout.on('data', (b) => (out += b));
    p.on('error', fail);
    p.on('close', (code) => (code === 0 && Number(out) > 0 ? ok(performance.now() - started) : fail(new Error(`${argv.join(' ')}: exit ${code}, printed ${out}`))));
  });
}
const request = (i) => runExe(['lease', 'request', '-4', '--ifname', `b${i % 1000}`, '--address', `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, '--config', config]);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** One raw connection doing request → release cycles, one line at a time. */
function cycleClient(from, count) {
  return new Promise((ok, fail) => {
    const s = createConnection(socket);
    let i = 0;
    let phase = 'request';
    let buf = '';
    const key = (n) => ({ ifname: `c${n % 997}`, address: `172.${(n >> 16) & 15 | 16}.${(n >> 8) & 255}.${n & 255}`, addr_family: 4 });
    const send = () => s.write(`${JSON.stringify({ version: 1, cmd: phase, ...key(from + i) })}\n`);
    s.on('connect', send);
    s.on('error', fail);
    s.on('data', (b) => {
      buf += b;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const reply = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (reply.error || !(reply.table > 0)) return fail(new Error(`cycle ${from + i} ${phase}: ${JSON.stringify(reply)}`));
        if (phase === 'request') phase = 'release';
        else {
          phase = 'request';
          if (++i === count) {
            s.end();
            return ok();
          }
        }
        send();
      }
    });
  });
}

const daemon = spawn(exe, ['daemon', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
let daemonErr = '';
daemon.stderr.on('data', (b) => (daemonErr += b));
try {
  const deadline = Date.now() + 15_000;
  while (!daemonErr.includes('allocator listening')) {
    if (daemon.exitCode !== null || Date.now() > deadline) throw new Error(`daemon did not start: ${daemonErr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const rssStart = status(daemon.pid, 'VmRSS');

  const latencies = [];
  for (let i = 0; i < runs; i++) latencies.push(await request(i));
  latencies.sort((a, b) => a - b);

  let started = performance.now();
  await Promise.all(Array.from({ length: 200 }, (_, i) => request(10_000 + i)));
  const concurrentMs = performance.now() - started;
  const rssAfterConcurrent = status(daemon.pid, 'VmRSS');

  const clients = 8;
  started = performance.now();
  await Promise.all(Array.from({ length: clients }, (_, c) => cycleClient(c * Math.ceil(cycles / clients), Math.ceil(cycles / clients))));
  const cyclesMs = performance.now() - started;
  const rssEnd = status(daemon.pid, 'VmRSS');
  const rssPeak = status(daemon.pid, 'VmHWM');

  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    lease_request_ms: { runs, p50: +percentile(latencies, 50).toFixed(1), p99: +percentile(latencies, 99).toFixed(1) },
    concurrent_200_requests_ms: Math.round(concurrentMs),
    cycles: { count: clients * Math.ceil(cycles / clients), connections: clients, ms: Math.round(cyclesMs), per_second: Math.round((clients * Math.ceil(cycles / clients)) / (cyclesMs / 1000)) },
    daemon_rss_kib: { start: rssStart, after_200: rssAfterConcurrent, after_cycles: rssEnd, peak: rssPeak },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.stderr.write(
    [
      `allocator benchmark (${result.machine.cpus} × ${result.machine.model}, node ${process.version})`,
      `  one lease request (process): p50 ${result.lease_request_ms.p50} ms, p99 ${result.lease_request_ms.p99} ms over ${runs} runs`,
      `  200 concurrent lease requests: ${result.concurrent_200_requests_ms} ms wall`,
      `  ${result.cycles.count} request/release cycles on ${clients} connections: ${result.cycles.ms} ms (${result.cycles.per_second}/s)`,
      `  daemon RSS: start ${rssStart} KiB, after 200 ${rssAfterConcurrent} KiB, after cycles ${rssEnd} KiB, peak ${rssPeak} KiB`,
      '',
    ].join('\n'),
  );
} finally {
  daemon.kill('SIGTERM');
  await new Promise((r) => (daemon.exitCode !== null ? r() : daemon.once('exit', r)));
  rmSync(dir, { recursive: true, force: true });
}
