#!/usr/bin/env zx
// Builds dist/multihomed-routing: esbuild bundles hooks/main.ts into one
// CommonJS file, then Node's single-executable-application support injects it
// into a copy of the local node binary (what `pkg --sea` wraps; pkg itself
// cannot fetch its base binaries on our network). The result runs on a host
// with no Node.js installed.
//
//   npm run build                 bundle + executable
//   npm run build -- --bundle-only  just dist/multihomed-routing.cjs
import { build } from 'esbuild';
import { $, fs, path, argv } from 'zx';

$.verbose = false;
$.quiet = true;
const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const pkg = JSON.parse(await fs.readFile(path.join(root, 'package.json'), 'utf8'));
const bundle = path.join(dist, 'multihomed-routing.cjs');
const exe = path.join(dist, 'multihomed-routing');
const node = argv.node ?? process.execPath;

await fs.mkdirp(dist);
await build({
  entryPoints: [path.join(root, 'hooks/main.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: bundle,
  define: { __VERSION__: JSON.stringify(pkg.version) },
  loader: { '.sh': 'text', '.rules': 'text' }, // the demo installs hooks/dhclient/shim.sh and the udev rule
  legalComments: 'none',
  logLevel: 'warning',
});
if (argv['bundle-only']) process.exit(0);

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 12)) {
  throw new Error(`single-executable builds need Node.js >= 20.12, this is ${process.version}`);
}

const blob = path.join(dist, 'sea-prep.blob');
const seaConfig = path.join(dist, 'sea-config.json');
await fs.writeJson(seaConfig, {
  main: bundle,
  output: blob,
  disableExperimentalSEAWarning: true,
  // Compiled code in the blob: the hooks start on every DHCP event.
  useCodeCache: true,
});
await $`${node} --experimental-sea-config ${seaConfig}`;
const tmpExe = `${exe}.tmp`;
await fs.copy(node, tmpExe);
await fs.chmod(tmpExe, 0o755);
await $`${path.join(root, 'node_modules/.bin/postject')} ${tmpExe} NODE_SEA_BLOB ${blob} --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2`;
await fs.rename(tmpExe, exe);
await fs.remove(blob);
console.log(`built ${path.relative(root, exe)} (${pkg.version}, node ${process.version})`);
