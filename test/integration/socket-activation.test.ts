// Boot order (issue 17, item 9): under systemd the daemon is socket-
// activated. Here systemd-socket-activate plays systemd's part (it binds
// the socket, sets LISTEN_FDS=1 and LISTEN_PID, and execs the daemon with
// the socket as fd 3): a hook that connects while the daemon is still
// starting is queued and answered by it, not sent into retries. Started
// without systemd, the daemon makes its own socket as before.

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, waitFor, type SpawnedProcess, type TestBed } from '../helpers/testbed.js';
import { cli, EXE, ourRules, setUpRoutingHost, type RoutingHost } from './routing-host.js';

const up = { IFACE: 'eth0', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: '192.0.2.10/24', IF_GATEWAY: '192.0.2.1' };
const down = { ...up, MODE: 'stop', PHASE: 'post-down' };
const SOCK = '/run/multihomed-routing/allocator/allocator.sock';

describe('socket activation', () => {
  let bed: TestBed;
  let rh: RoutingHost;
  let activated: SpawnedProcess | undefined;
  const hook = (env: Record<string, string>) => cli(bed.host, ['--verbose', 'ifupdown'], env);

  beforeAll(async () => {
    bed = await createTestBed({ name: 'sockact', routers: [] });
    rh = await setUpRoutingHost(bed, '');
    await bed.host.exec(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer']);
    for (const dev of ['eth0', 'eth0peer']) await bed.host.exec(['ip', 'link', 'set', dev, 'up']);
    await bed.host.exec(['ip', 'addr', 'add', '192.0.2.10/24', 'dev', 'eth0']);
    await rh.stopDaemon(); // its socket file goes with it; the 0700 directory stays, as systemd's DirectoryMode makes it
  });
  afterAll(async () => {
    activated?.kill('SIGTERM');
    await activated?.exited;
    bed?.destroy();
  });

  test('the daemon serves the socket systemd passed (fd 3), and a hook that connected while it started is answered by it', async () => {
    activated = bed.host.spawn(['systemd-socket-activate', '--listen', SOCK, EXE, 'daemon'], { logName: 'activated' });
    // The socket exists before the daemon runs: the hook connects at once and waits in the backlog.
    await waitFor('the socket systemd-socket-activate bound', () => fs.existsSync(bed.host.path(SOCK)), 5000, 10);
    const inode = fs.statSync(bed.host.path(SOCK)).ino;
    const r = await hook(up);
    expect(r.stderr).toMatch(/applied by the daemon/);
    expect(r.stderr).not.toMatch(/working alone|retry/);
    expect(await ourRules(bed.host)).toHaveLength(5); // from, oif, to, the band and main's suppress rule
    const log = fs.readFileSync(activated.logFile, 'utf8');
    expect(log).toMatch(/socket inherited from systemd fd=3/);
    expect(log).not.toMatch(/ignored_fds/);
    // served as it is: not removed and made anew
    expect(fs.statSync(bed.host.path(SOCK)).ino).toBe(inode);
    expect((await hook(down)).stderr).toMatch(/applied by the daemon/);
    activated.kill('SIGTERM');
    expect(await activated.exited).toBe(0);
    activated = undefined;
  });

  test('variables meant for another process are ignored: the daemon makes its own socket', async () => {
    fs.rmSync(bed.host.path(SOCK), { force: true }); // systemd removes it (RemoveOnStop)
    const own = bed.host.spawn([EXE, 'daemon'], { logName: 'own', env: { LISTEN_PID: '1', LISTEN_FDS: '1' } });
    try {
      await waitFor('its own socket', () => fs.existsSync(bed.host.path(SOCK)), 10_000, 50);
      expect((fs.statSync(bed.host.path(SOCK)).mode & 0o777).toString(8)).toBe('600');
      const r = await hook(up);
      expect(r.stderr).toMatch(/applied by the daemon/);
      expect(fs.readFileSync(own.logFile, 'utf8')).not.toMatch(/inherited/);
      await hook(down);
    } finally {
      own.kill('SIGTERM');
      await own.exited;
    }
  });
});
