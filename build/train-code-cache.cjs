'use strict';
// node build/train-code-cache.cjs WRAPPED_BUNDLE OUT_CACHE RUNS_JSON
// Writes OUT_CACHE.top, V8's code cache of the bundle's top level only (what
// `--version` needs), then runs the wrapped bundle as the executable would
// (same source, same compile options), calls its main() once per run of
// RUNS_JSON ({ "socket": PATH, "runs": [{ "argv": [...], "env": {...} }] },
// in order) and writes OUT_CACHE: it then holds every function those runs
// compiled. While they run, a stand-in daemon on PATH answers every event
// with a canned reply (what a real daemon says to a dry run), so the hooks
// take the path they take in production (delegation), and the cache holds
// that path rather than the in-process planner a hook uses only when no
// daemon runs. Run with the node binary the executable is made from (V8
// rejects a cache of another version).
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { createServer } = require('node:net');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

const [file, out, runsFile] = process.argv.slice(2);
const { socket, runs } = JSON.parse(readFileSync(runsFile, 'utf8'));

const reply = JSON.stringify({
  version: 1, cmd: 'response', lines: ['multihomed-routing training: the stand-in daemon took the event'], out: '# training: nothing planned\n',
});
const daemon = createServer((s) => {
  let buf = '';
  s.on('data', (d) => {
    buf += d;
    if (buf.includes('\n')) s.end(`${reply}\n`);
  });
  s.on('error', () => {});
});

const script = new Script(readFileSync(file, 'utf8'), { filename: 'multihomed-routing.cjs' });
writeFileSync(`${out}.top`, script.createCachedData());
// The bundle runs main(process.argv) when evaluated: let that be --version.
process.argv = [process.argv[0], file, '--version'];
const m = { exports: {} };
script.runInThisContext()(m.exports, require, m, file, dirname(file));

(async () => {
  mkdirSync(dirname(socket), { recursive: true });
  await new Promise((resolve, reject) => daemon.once('error', reject).listen(socket, resolve));
  try {
    for (const run of runs) {
      const code = await m.exports.main(run.argv, run.env);
      if (code !== 0) throw new Error(`training run ${run.argv.join(' ')} exited ${code}`);
    }
  } finally {
    daemon.close();
  }
  writeFileSync(out, script.createCachedData());
})().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
