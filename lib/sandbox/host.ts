// The sandbox's host: a network namespace whose processes also see their own
// /etc and /run. One long-lived process (`sleep infinity`, started by `ip
// netns exec`, which gives it a mount namespace of its own with the machine's
// mounts propagating in but none going out) holds:
//
//   SCRATCH  tmpfs          (SCRATCH: an empty directory of the caller's)
//   /etc     overlay: lower the machine's /etc, upper and work dirs on that tmpfs
//   /run     tmpfs, empty
//
// so everything written to /etc or /run by the host's programs (hooks,
// dhclient-script, pid files, the daemon's socket and lease store) lives in
// memory and vanishes with the holder: the machine's /etc is never written.
// Programs run in it through `nsenter --target HOLDER --mount --net`; files of
// its view are reached from outside through /proc/HOLDER/root.

import fs from 'node:fs';
import path from 'node:path';
import { run } from '../exec/run.js';
import { Namespace, isAlive, poll } from './netns.js';

export class SandboxHost extends Namespace {
  private constructor(
    name: string,
    readonly holderPid: number,
  ) {
    super(name, (argv) => ['nsenter', `--target=${holderPid}`, '--mount', '--net', '--', ...argv]);
  }

  /**
   * Starts the holder in the (existing) namespace `name` and mounts the
   * private /etc and /run. `scratch` must be an empty directory; `logFile`
   * gets the holder's output. On failure the holder is killed and the error thrown.
   */
  static async create(name: string, scratch: string, logFile: string, env: Record<string, string> = {}): Promise<SandboxHost> {
    const ns = new Namespace(name);
    ns.env = env;
    const holder = ns.start(['sleep', 'infinity'], logFile);
    try {
      const ownMnt = fs.readlinkSync('/proc/self/ns/mnt');
      const ready = await poll(() => {
        const comm = fs.readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim();
        return comm === 'sleep' && fs.readlinkSync(`/proc/${holder.pid}/ns/mnt`) !== ownMnt;
      }, 5000, 10);
      if (!ready) throw new Error(`the host's holder process did not start: ${fs.readFileSync(logFile, 'utf8')}`);
      const host = new SandboxHost(name, holder.pid);
      const inHolder = (argv: string[]) => run(['nsenter', `--target=${holder.pid}`, '--mount', '--', ...argv]);
      await inHolder(['mount', '-t', 'tmpfs', '-o', 'mode=0700', 'mhr-sandbox', scratch]);
      const upper = path.join(scratch, 'etc-upper');
      const work = path.join(scratch, 'etc-work');
      for (const d of [upper, work]) fs.mkdirSync(host.real(d), { mode: 0o755 });
      await inHolder(['mount', '-t', 'overlay', 'mhr-sandbox-etc', '-o', `lowerdir=/etc,upperdir=${upper},workdir=${work}`, '/etc']);
      await inHolder(['mount', '-t', 'tmpfs', '-o', 'mode=0755', 'mhr-sandbox-run', '/run']);
      return host;
    } catch (err) {
      if (isAlive(holder.pid)) process.kill(holder.pid, 'SIGKILL');
      throw err;
    }
  }

  /** The path by which this process reaches a file of the host's view (/etc/…, /run/…). */
  real(viewPath: string): string {
    if (!path.isAbsolute(viewPath)) throw new Error(`an absolute path of the host's view, not ${viewPath}`);
    return `/proc/${this.holderPid}/root${path.normalize(viewPath)}`;
  }

  /** Writes a file of the host's view, creating its directories. */
  writeFile(viewPath: string, content: string, mode = 0o644): void {
    const file = this.real(viewPath);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
  }

  readFile(viewPath: string): string {
    try {
      return fs.readFileSync(this.real(viewPath), 'utf8');
    } catch {
      return '';
    }
  }
}
