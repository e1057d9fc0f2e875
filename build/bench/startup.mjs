// Start-up: `multihomed-routing --version` against a bare single-executable
// that does nothing (the runtime floor). Target: ≤ 1.1× the floor.
import { bareExecutable, exe, round, timeCommand } from './lib.mjs';

export async function benchStartup() {
  const floor = timeCommand([bareExecutable()], { runs: 50 });
  const version = timeCommand([exe, '--version'], { runs: 50 });
  return {
    floor_ms: floor,
    version_ms: version,
    ratio_p50: round(version.p50 / floor.p50, 2),
    target_ratio: 1.1,
  };
}
