// Start-up: `multihomed-routing --version` against a bare single-executable
// that does nothing (the runtime floor). Target: ≤ 1.1× the floor.
import { bareExecutable, exe, round, summarize, timeCommand } from './lib.mjs';

// Both run with only PATH in the environment, as hooks are run by ifupdown,
// dhclient-script and udev: a developer's NODE_EXTRA_CA_CERTS or NODE_OPTIONS
// would otherwise be timed too (NODE_EXTRA_CA_CERTS alone adds ~60 ms to both).
// The two alternate run by run, so load from other processes hits both alike.
const env = { PATH: process.env.PATH };

export async function benchStartup() {
  const bare = bareExecutable();
  const floorTimes = [];
  const versionTimes = [];
  for (let i = 0; i < 50; i++) {
    floorTimes.push(...timeCommand([bare], { runs: 1, warmup: i === 0 ? 3 : 0, env, raw: true }));
    versionTimes.push(...timeCommand([exe, '--version'], { runs: 1, warmup: i === 0 ? 3 : 0, env, raw: true }));
  }
  const floor = summarize(floorTimes);
  const version = summarize(versionTimes);
  return {
    floor_ms: floor,
    version_ms: version,
    ratio_p50: round(version.p50 / floor.p50, 2),
    target_ratio: 1.1,
  };
}
