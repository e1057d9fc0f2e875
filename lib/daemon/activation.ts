// systemd socket activation (sd_listen_fds(3)): when systemd started us
// from multihomed-routing.socket, the listening socket is already open as
// fd 3, named by LISTEN_FDS and LISTEN_PID. Early hooks (networking.service,
// NetworkManager, dhclient at boot) connect to it before the daemon runs:
// their lines wait in its backlog instead of failing to connect and retrying.
// Pure but for reading the environment it is given; the variables are
// removed, as sd_listen_fds(1) does, so no child (ip, logger) inherits them.

/** The first descriptor systemd passes (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

export interface Inherited {
  /** The listening socket to serve. */
  fd: number;
  /** More than one socket was passed: only the first is served. */
  extra: number;
}

/**
 * The descriptor systemd passed to this process, or undefined when it
 * passed none (started by hand, by install.sh without systemd, by a test):
 * LISTEN_PID must be our pid, or the variables were meant for another
 * process and are ignored. Throws on values systemd never sets.
 */
export function takeListenFds(env: NodeJS.ProcessEnv, pid: number): Inherited | undefined {
  const { LISTEN_PID: forPid, LISTEN_FDS: count } = env;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (forPid === undefined || count === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(forPid) || Number(forPid) !== pid) return undefined;
  if (!/^[0-9]+$/.test(count)) throw new Error(`LISTEN_FDS: expected a number of descriptors, received ${JSON.stringify(count.slice(0, 40))}`);
  const n = Number(count);
  if (n === 0) return undefined;
  return { fd: LISTEN_FDS_START, extra: n - 1 };
}
