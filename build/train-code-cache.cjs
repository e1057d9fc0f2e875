'use strict';
// node build/train-code-cache.cjs WRAPPED_BUNDLE OUT_CACHE RUNS_JSON
// Writes OUT_CACHE.top, V8's code cache of the bundle's top level only (what
// `--version` needs), then runs the wrapped bundle as the executable would
// (same source, same compile options) and calls its main() once per entry of
// RUNS_JSON ([{ "argv": [...], "env": {...} }], in order), and writes
// OUT_CACHE at exit: it then holds every function those runs compiled. Run
// with the node binary the executable is made from (V8 rejects a cache of
// another version).
const { readFileSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

const [file, out, runsFile] = process.argv.slice(2);
const runs = JSON.parse(readFileSync(runsFile, 'utf8'));
const script = new Script(readFileSync(file, 'utf8'), { filename: 'multihomed-routing.cjs' });
writeFileSync(`${out}.top`, script.createCachedData());
// The bundle runs main(process.argv) when evaluated: let that be --version.
process.argv = [process.argv[0], file, '--version'];
const m = { exports: {} };
script.runInThisContext()(m.exports, require, m, file, dirname(file));
(async () => {
  for (const run of runs) {
    const code = await m.exports.main(run.argv, run.env);
    if (code !== 0) throw new Error(`training run ${run.argv.join(' ')} exited ${code}`);
  }
  writeFileSync(out, script.createCachedData());
})().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
