#!/usr/bin/env zx
// Builds the Debian package: dist/multihomed-routing_<version>_<arch>.deb.
//
//   npm run package                      build the executable, then the .deb
//   npm run package -- --no-build        package the existing dist/multihomed-routing
//   npm run package -- --out DIR         write the .deb to DIR (default dist/)
//
// The files come from install.sh (DESTDIR staging with PREFIX=/usr and the
// unit in /lib/systemd/system), so the hooks, the unit, the udev rule, the
// dnsmasq drop-in and the default config are rendered by one source of truth.
// Then Debian's rules: the man page gzip -9n, the udev rule in
// /lib/udev/rules.d (the admin's /etc/udev/rules.d overrides it), every file
// under /etc a conffile, copyright and changelog.Debian.gz in
// /usr/share/doc/multihomed-routing, lintian overrides (build/debian/), the
// maintainer scripts (build/debian/postinst, prerm, postrm). Depends from
// dpkg-shlibdeps on the embedded Node.js binary. Built with
// `dpkg-deb --root-owner-group` (no fakeroot needed). docs/packaging.md
// explains all of it.
import { $, fs, path, argv, tmpdir } from 'zx';

$.verbose = false;
$.quiet = true;
const root = path.resolve(import.meta.dirname, '..');
const NAME = 'multihomed-routing';
const pkg = JSON.parse(await fs.readFile(path.join(root, 'package.json'), 'utf8'));
// Non-native: upstream version + Debian revision 1.
const version = `${pkg.version}-1`;
const arch = (await $`dpkg --print-architecture`).stdout.trim();
const outDir = path.resolve(argv.out ?? path.join(root, 'dist'));
const exe = path.join(root, 'dist', NAME);
// Maintainer: DEBFULLNAME / DEBEMAIL when set (as dch does), else a placeholder.
const MAINTAINER = `${process.env.DEBFULLNAME ?? 'multihomed-routing maintainers'} <${process.env.DEBEMAIL ?? 'maintainers@multihomed-routing.example.org'}>`;
// Dates and years from the last commit, so that builds of one commit are identical.
const commitDate = await (async () => {
  try {
    return (await $({ cwd: root })`git log -1 --format=%aD`).stdout.trim();
  } catch {
    return new Date().toUTCString().replace('GMT', '+0000');
  }
})();
const year = new Date(commitDate).getUTCFullYear();

if (argv.build !== false) {
  console.error('building the executable (npm run build)');
  await $({ cwd: root })`npm run --silent build`;
}
if (!fs.existsSync(exe)) throw new Error(`${exe} is missing: run npm run build`);

// Its own directory per run: a fixed name made two builds at once (parallel
// test runs on one machine) trip over each other's files.
const work = tmpdir(`${NAME}-deb-${process.pid}`);
const stage = path.join(work, 'root');
try {
  await fs.mkdirp(stage);
  // 1. The files of the installed layout, rendered by install.sh.
  await $({
    env: { ...process.env, DESTDIR: stage, UNITDIR: '/lib/systemd/system' },
  })`${path.join(root, 'install.sh')} --binary ${exe} --prefix /usr --sysconfdir /etc --no-deps`;

  // 2. Debian's places and forms.
  const udevEtc = path.join(stage, 'etc/udev/rules.d', `99-${NAME}.rules`);
  const udevLib = path.join(stage, 'lib/udev/rules.d', `99-${NAME}.rules`);
  await fs.mkdirp(path.dirname(udevLib));
  await fs.move(udevEtc, udevLib);
  await fs.remove(path.join(stage, 'etc/udev'));
  const man = path.join(stage, 'usr/share/man/man8', `${NAME}.8`);
  await $`gzip -9n ${man}`;

  const doc = path.join(stage, 'usr/share/doc', NAME);
  await fs.mkdirp(doc);
  await fs.writeFile(path.join(doc, 'copyright'), copyright());
  await fs.writeFile(path.join(doc, 'changelog.Debian'), await changelog());
  await $`gzip -9n ${path.join(doc, 'changelog.Debian')}`;
  const overrides = path.join(stage, 'usr/share/lintian/overrides', NAME);
  await fs.mkdirp(path.dirname(overrides));
  await fs.copy(path.join(root, 'build/debian/lintian-overrides'), overrides);

  // Modes: directories 0755, files 0644 unless executable (dpkg-deb keeps what is on disk).
  await $`find ${stage} -type d -exec chmod 0755 {} +`;
  for (const f of [path.join(doc, 'copyright'), path.join(doc, 'changelog.Debian.gz'), overrides, `${man}.gz`]) await fs.chmod(f, 0o644);

  // 3. Control data.
  const debian = path.join(stage, 'DEBIAN');
  await fs.mkdirp(debian);
  for (const s of ['postinst', 'prerm', 'postrm']) {
    await fs.copy(path.join(root, 'build/debian', s), path.join(debian, s));
    await fs.chmod(path.join(debian, s), 0o755);
  }
  const md5 = (await $`cd ${stage} && find . -path ./DEBIAN -prune -o -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 md5sum`).stdout;
  await fs.writeFile(path.join(debian, 'md5sums'), md5);
  const conffiles = (await $`cd ${stage} && find etc -type f`).stdout.trim().split('\n').sort().map((f) => `/${f}`);
  await fs.writeFile(path.join(debian, 'conffiles'), `${conffiles.join('\n')}\n`);
  const installedKb = Number((await $`du -k -s --apparent-size --exclude=DEBIAN ${stage}`).stdout.split(/\s/)[0]);
  await fs.writeFile(
    path.join(debian, 'control'),
    [
      `Package: ${NAME}`,
      `Version: ${version}`,
      `Architecture: ${arch}`,
      `Maintainer: ${MAINTAINER}`,
      `Installed-Size: ${installedKb}`,
      `Depends: ${await shlibs(work, path.join(stage, 'usr/sbin', NAME))}, iproute2, init-system-helpers (>= 1.54~)`,
      'Recommends: isc-dhcp-client | network-manager, ifupdown | network-manager',
      'Suggests: dnsmasq',
      'Section: net',
      'Priority: optional',
      `Homepage: https://example.invalid/${NAME}`,
      `Description: per-uplink policy routing for multihomed hosts`,
      ' Gives every uplink of a Linux host (Ethernet, Wi-Fi, USB/LTE modems, cloud',
      ' NICs) its own routing table and rules, so that replies and sockets bound to',
      " an uplink's address leave through that uplink, unbound traffic follows a",
      ' configured interface priority with failover, and DNS servers are asked',
      ' through the interface that learned them (dnsmasq).',
      ' .',
      ' It hooks into ifupdown, ISC dhclient, NetworkManager (01-ifupdown) and udev,',
      ' and runs a daemon (table allocator and kernel event watcher). The program',
      ' is one standalone executable with an embedded Node.js runtime.',
      '',
    ].join('\n'),
  );

  // 4. The package.
  await fs.mkdirp(outDir);
  const deb = path.join(outDir, `${NAME}_${version}_${arch}.deb`);
  await $`dpkg-deb --root-owner-group -Zxz -z6 --build ${stage} ${deb}`;
  console.log(deb);
} finally {
  await fs.remove(work);
}

/** Depends of the ELF executable (libc6, libstdc++6, libgcc-s1 with versions), from dpkg-shlibdeps. */
async function shlibs(dir, elf) {
  // dpkg-shlibdeps wants a debian/control in its working directory.
  await fs.mkdirp(path.join(dir, 'debian'));
  await fs.writeFile(path.join(dir, 'debian/control'), `Source: ${NAME}\n\nPackage: ${NAME}\nArchitecture: any\n`);
  const out = (await $({ cwd: dir })`dpkg-shlibdeps -O -e ${elf}`).stdout.trim();
  const m = /^shlibs:Depends=(.*)$/m.exec(out);
  if (!m) throw new Error(`dpkg-shlibdeps: unexpected output ${out}`);
  return m[1];
}

async function changelog() {
  const date = commitDate;
  return [
    `${NAME} (${version}) unstable; urgency=medium`,
    '',
    `  * Package of ${NAME} ${pkg.version}, built with npm run package.`,
    '',
    ` -- ${MAINTAINER}  ${date}`,
    '',
  ].join('\n');
}

function copyright() {
  return [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    `Upstream-Name: ${NAME}`,
    'Comment: /usr/sbin/multihomed-routing embeds the Node.js runtime it was built',
    ' with (a Node.js single-executable application). Node.js is MIT licensed; the',
    ' licenses of the libraries it bundles (V8, libuv, OpenSSL, zlib, ICU, nghttp2,',
    ' c-ares, llhttp and others) are in https://github.com/nodejs/node/blob/main/LICENSE',
    '',
    'Files: *',
    `Copyright: ${year} multihomed-routing contributors`,
    'License: MIT',
    '',
    'License: MIT',
    ' Permission is hereby granted, free of charge, to any person obtaining a',
    ' copy of this software and associated documentation files (the "Software"),',
    ' to deal in the Software without restriction, including without limitation',
    ' the rights to use, copy, modify, merge, publish, distribute, sublicense,',
    ' and/or sell copies of the Software, and to permit persons to whom the',
    ' Software is furnished to do so, subject to the following conditions:',
    ' .',
    ' The above copyright notice and this permission notice shall be included in',
    ' all copies or substantial portions of the Software.',
    ' .',
    ' THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR',
    ' IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,',
    ' FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE',
    ' AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER',
    ' LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING',
    ' FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER',
    ' DEALINGS IN THE SOFTWARE.',
    '',
  ].join('\n');
}
