// A lease store that cannot be written (issue 17, item 7): the daemon says
// so once, keeps serving leases from memory, and `status` and `doctor` show
// it. The store's directory is a tmpfs made read-only (or filled) in a
// mount namespace of the daemon's own (`unshare -m`, private propagation)
// inside the test host's: nothing of the machine is mounted or written.

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestBed, waitFor, type SpawnedProcess, type TestBed } from '../helpers/testbed.js';
import { cli, EXE, setUpRoutingHost, type RoutingHost } from './routing-host.js';

const STORE_DIR = '/run/mhr-store';
const up = { IFACE: 'eth0', ADDRFAM: 'inet', METHOD: 'static', MODE: 'start', PHASE: 'post-up', IF_ADDRESS: '192.0.2.10/24', IF_GATEWAY: '192.0.2.1' };
const down = { ...up, MODE: 'stop', PHASE: 'post-down' };

/** The shell that prepares the store's directory, then runs the daemon in the same private mount namespace. */
const WRAPPERS = {
  'read-only': `mount -t tmpfs mhr-store ${STORE_DIR} && mount -o remount,ro ${STORE_DIR}`,
  full: `mount -t tmpfs -o size=16k mhr-store ${STORE_DIR} && (dd if=/dev/zero of=${STORE_DIR}/fill bs=4k 2>/dev/null || true)`,
};

describe('a lease store that cannot be written', () => {
  let bed: TestBed;
  let rh: RoutingHost;
  let daemon: SpawnedProcess | undefined;

  beforeAll(async () => {
    bed = await createTestBed({ name: 'storero', routers: [] });
    rh = await setUpRoutingHost(bed, '', `store_path = ${STORE_DIR}/leases.json\n`);
    await bed.host.exec(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer']);
    for (const dev of ['eth0', 'eth0peer']) await bed.host.exec(['ip', 'link', 'set', dev, 'up']);
    await bed.host.exec(['ip', 'addr', 'add', '192.0.2.10/24', 'dev', 'eth0']);
    await rh.stopDaemon();
  });
  afterAll(async () => {
    daemon?.kill('SIGTERM');
    await daemon?.exited;
    bed?.destroy();
  });

  test.each(Object.entries(WRAPPERS))('%s: said once at start, leases served from memory, status and doctor show it', async (kind, prepare) => {
    fs.rmSync(bed.host.path('/run/multihomed-routing/daemon-view.json'), { force: true });
    const d = (daemon = bed.host.spawn(['unshare', '-m', '--propagation', 'private', 'sh', '-ec', `${prepare} && exec ${EXE} daemon`], { logName: `daemon-${kind}` }));
    const log = () => fs.readFileSync(d.logFile, 'utf8');
    try {
      await waitFor('the daemon listens', () => log().includes('allocator listening'), 10_000, 50);
      expect(log()).toMatch(new RegExp(`error: lease store ${STORE_DIR}/leases\\.json cannot be written \\(.*(EROFS|ENOSPC).*\\): leases are kept in memory only`));

      // leases are granted at the first attempt, events applied by the daemon with a table
      const got = await cli(bed.host, ['lease', 'request', '-4', '--ifname', 'eth9', '--address', '192.0.2.99']);
      expect(Number(got.stdout.trim())).toBeGreaterThan(0);
      expect(got.stderr).not.toMatch(/lease request failed/);
      const r = await cli(bed.host, ['--verbose', 'ifupdown'], up);
      expect(r.stderr).toMatch(/applied by the daemon/);
      expect(r.stderr).toMatch(/routing updated iface=eth0 address=192\.0\.2\.10\/24 table=\d+/);
      expect((await cli(bed.host, ['lease', 'release', '-4', '--ifname', 'eth9', '--address', '192.0.2.99'])).exitCode).toBe(0);
      await new Promise((res) => setTimeout(res, 1500)); // passes and saves come and go: no more lines about it

      const status = await waitFor('status shows it', async () => {
        const s = await cli(bed.host, ['status']);
        return s.stdout.includes('LEASE STORE NOT WRITABLE') ? s.stdout : undefined;
      }, 10_000, 200);
      expect(status).toMatch(new RegExp(`LEASE STORE NOT WRITABLE since \\S+: ${STORE_DIR}/leases\\.json: .*(EROFS|ENOSPC)`));
      const doctor = await cli(bed.host, ['doctor', '--json']);
      const { findings } = JSON.parse(doctor.stdout) as { findings: { id: string; subject: string; what: string }[] };
      expect(findings).toContainEqual(expect.objectContaining({ id: 'store-unwritable', subject: `${STORE_DIR}/leases.json`, what: expect.stringMatching(/(EROFS|ENOSPC).*as the daemon found/) }));

      expect(log().match(/cannot be written/g)).toHaveLength(1);
      expect(log()).not.toMatch(/could not repair|not writable/);
      await cli(bed.host, ['ifupdown'], down);
    } finally {
      d.kill('SIGTERM');
      daemon = undefined;
      expect(await d.exited).toBe(0);
    }
  });
});
