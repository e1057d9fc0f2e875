'use strict';
// Entry of the single executable. The bundle (dist/multihomed-routing.cjs,
// wrapped as a function) is an asset, run with a V8 code cache that
// build/train-code-cache.cjs made after running the hook path once at build
// time: Node's own `useCodeCache` only holds what V8 compiles before running
// (the top level), so every function a hook calls was compiled on every run.
// A rejected cache (another node binary) costs nothing but the check: V8
// compiles as usual. MULTIHOMED_ROUTING_TRACE=1 tells which happened.
const { getAsset, getRawAsset } = require('node:sea');
const { Script } = require('node:vm');

// `--version` alone needs only the top level: the full cache costs more to load than it saves there.
const versionOnly = process.argv.length === 3 && process.argv[2] === '--version';
let cachedData;
try {
  cachedData = Buffer.from(getRawAsset(versionOnly ? 'bundle.cache.top' : 'bundle.cache'));
} catch {
  cachedData = undefined; // built without a cache
}
const script = new Script(getAsset('bundle.js', 'utf8'), { filename: 'multihomed-routing.cjs', cachedData });
const trace = process.env.MULTIHOMED_ROUTING_TRACE;
if (trace && trace !== '0') {
  require('node:fs').writeSync(2, `multihomed-routing trace: code cache ${cachedData ? (script.cachedDataRejected ? 'rejected' : 'used') : 'absent'}\n`);
}
script.runInThisContext()(module.exports, require, module, __filename, __dirname);
