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

// The hooks start on every DHCP event: compiled code goes into the blob. The
// bundle, wrapped as a function, is an asset that build/sea-main.cjs runs
// with a code cache made after one dry run of the if-up hook (see there).
const wrapped = path.join(dist, 'bundle.wrapped.js');
const cache = path.join(dist, 'bundle.cache');
await fs.writeFile(wrapped, `(function (exports, require, module, __filename, __dirname) {${await fs.readFile(bundle, 'utf8')}\n})`);
await fs.remove(cache);
await fs.remove(`${cache}.top`);
// Training runs, dry (plans printed to nowhere), on lo (there on every build
// host): the if-up hook, and the dhclient hook's BOUND and a RENEW that
// changes nothing. They delegate to the trainer's stand-in daemon (see
// build/train-code-cache.cjs). Their own config: no syslog, nothing
// ignored, run_dir, servers-file and socket in a scratch directory.
const trainDir = path.join(dist, 'train');
await fs.remove(trainDir);
await fs.mkdirp(trainDir);
const trainConf = path.join(trainDir, 'train.conf');
await fs.writeFile(
  trainConf,
  `syslog = no\nignore_interfaces =\nrun_dir = ${trainDir}/run\nsocket_path = ${trainDir}/alloc/allocator.sock\n` +
    `dnsmasq_servers_file = ${trainDir}/servers.conf\ndnsmasq_pid_file = ${trainDir}/none.pid\n`,
);
const base = { PATH: process.env.PATH, MULTIHOMED_ROUTING_CONFIG: trainConf };
const lease = (prefix) => ({
  [`${prefix}ip_address`]: '192.0.2.10', [`${prefix}subnet_mask`]: '255.255.255.0', [`${prefix}routers`]: '192.0.2.1',
  [`${prefix}domain_name_servers`]: '192.0.2.53', [`${prefix}dhcp_lease_time`]: '600',
});
const runs = [
  { argv: ['--dry-run', 'ifupdown'], env: { ...base, IFACE: 'lo', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: '127.0.0.1/8', IF_GATEWAY: '127.0.0.2' } },
  { argv: ['--dry-run', 'dhclient-hook'], env: { ...base, reason: 'BOUND', interface: 'lo', ...lease('new_') } },
  { argv: ['--dry-run', 'dhclient-hook'], env: { ...base, reason: 'RENEW', interface: 'lo', ...lease('new_'), ...lease('old_') } },
];
await fs.writeJson(path.join(trainDir, 'runs.json'), { socket: path.join(trainDir, 'alloc/allocator.sock'), runs });
const train = await $({ nothrow: true, env: base })`${node} ${path.join(root, 'build/train-code-cache.cjs')} ${wrapped} ${cache} ${path.join(trainDir, 'runs.json')}`;
await fs.remove(trainDir);
if (!(await fs.pathExists(cache))) console.warn(`code cache not made (exit ${train.exitCode}): ${train.stderr.trim()}`);
const blob = path.join(dist, 'sea-prep.blob');
const seaConfig = path.join(dist, 'sea-config.json');
await fs.writeJson(seaConfig, {
  main: path.join(root, 'build/sea-main.cjs'),
  output: blob,
  disableExperimentalSEAWarning: true,
  useCodeCache: true,
  assets: { 'bundle.js': wrapped, ...((await fs.pathExists(cache)) ? { 'bundle.cache': cache, 'bundle.cache.top': `${cache}.top` } : {}) },
});
await $`${node} --experimental-sea-config ${seaConfig}`;
const tmpExe = `${exe}.tmp`;
await fs.copy(node, tmpExe);
await fs.chmod(tmpExe, 0o755);
await $`${path.join(root, 'node_modules/.bin/postject')} ${tmpExe} NODE_SEA_BLOB ${blob} --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2`;
await fs.rename(tmpExe, exe);
await fs.remove(blob);
await fs.remove(wrapped);
await fs.remove(cache);
await fs.remove(`${cache}.top`);
console.log(`built ${path.relative(root, exe)} (${pkg.version}, node ${process.version})`);
