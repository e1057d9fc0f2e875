#!/usr/bin/env zx
// `npm run bench`: runs every benchmark against the built executable and
// writes .bench/results.json; BENCHMARKS.md records results with machine and date.
//   npm run bench -- --only startup,allocator
import { argv, fs, os, path } from 'zx';
import { root } from './bench/lib.mjs';
import { benchStartup } from './bench/startup.mjs';
import { runJsonScript } from './bench/lib.mjs';

const suites = {
  startup: benchStartup,
  allocator: () => runJsonScript('build/bench/allocator.mjs'),
  routing: () => runJsonScript('build/bench/routing.mjs'),
  dhcp: () => runJsonScript('build/bench/dhcp.mjs'),
  hotplug: () => runJsonScript('build/bench/hotplug.mjs'),
  script: () => runJsonScript('build/bench/script.mjs'),
  health: () => runJsonScript('build/bench/health.mjs'),
  adopt: () => runJsonScript('build/bench/adopt.mjs'),
  events: () => runJsonScript('build/bench/events.mjs'),
  'script-events': () => runJsonScript('build/bench/script.mjs', ['--sides', 'handover,events']),
};

const only = argv.only ? String(argv.only).split(',') : Object.keys(suites);
const results = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, node ${process.version}`,
};
for (const name of only) {
  if (!suites[name]) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(suites).join(', ')}`);
  process.stderr.write(`bench: ${name}…\n`);
  results[name] = await suites[name]();
}
await fs.mkdirp(path.join(root, '.bench'));
await fs.writeJson(path.join(root, '.bench/results.json'), results, { spaces: 2 });
console.log(JSON.stringify(results, null, 2));
