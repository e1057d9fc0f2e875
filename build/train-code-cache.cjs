'use strict';
// node build/train-code-cache.cjs WRAPPED_BUNDLE OUT_CACHE ARGS...
// Writes OUT_CACHE.top, V8's code cache of the bundle's top level only (what
// `--version` needs), then runs the wrapped bundle as the executable would
// (same source, same compile options) with ARGS as its command line and writes
// OUT_CACHE at exit: it then holds every function the run compiled. Run with the node
// binary the executable is made from (V8 rejects a cache of another version).
const { readFileSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

const [file, out, ...args] = process.argv.slice(2);
const script = new Script(readFileSync(file, 'utf8'), { filename: 'multihomed-routing.cjs' });
writeFileSync(`${out}.top`, script.createCachedData());
process.argv = [process.argv[0], file, ...args];
process.on('exit', () => writeFileSync(out, script.createCachedData()));
const m = { exports: {} };
script.runInThisContext()(m.exports, require, m, file, dirname(file));
