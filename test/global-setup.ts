// The integration project's global setup (vitest.config.ts): builds dist/
// once before its first file runs, when it is missing or older than the
// sources, so integration tests always run what ships. (`npm test` builds
// first anyway; this covers `npx vitest run FILE`.)
import { existsSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

const root = resolve(import.meta.dirname, '..');
export const exe = join(root, 'dist/multihomed-routing');

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default async function setup(): Promise<() => void> {
  // The test bed puts per-namespace files under /etc/netns/NAME and removes
  // them; /etc/netns itself is shared by parallel files, so it is removed
  // once, at the end, if this run created it and it is empty.
  const netnsDirExisted = existsSync('/etc/netns');
  // The product's default state paths: a test that forgets to point its
  // config elsewhere would write the machine's own. Say so loudly, and undo.
  const machinePaths = ['/run/multihomed-routing', '/var/lib/multihomed-routing'];
  const existed = new Set(machinePaths.filter((p) => existsSync(p)));
  const teardown = () => {
    for (const p of machinePaths) {
      if (existed.has(p) || !existsSync(p)) continue;
      process.stderr.write(`\nTEST LEAK: a test wrote ${p} on the machine itself (set run_dir/store_path in its config); removed\n`);
      rmSync(p, { recursive: true, force: true });
    }
    if (netnsDirExisted) return;
    try {
      rmdirSync('/etc/netns');
    } catch {
      // not empty (another run is using it) or already gone
    }
  };
  const sources = Math.max(newest(join(root, 'lib')), newest(join(root, 'hooks')), statSync(join(root, 'package.json')).mtimeMs);
  if (!existsSync(exe) || statSync(exe).mtimeMs <= sources) {
    await execa('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  }
  return teardown;
}
