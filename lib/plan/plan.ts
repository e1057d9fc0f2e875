// The pure planner: (kernel state, event, config, leased table) → the exact,
// ordered changes that make the routing layout (docs/routing.md) true, each with a
// reason. Nothing here runs a command or reads a file, so it is tested with
// canned state; the same function serves a real run and --dry-run.
//
// Ownership: every rule and route we add carries `protocol config.protocol`
// (201 by default); we delete only rules/routes carrying it, plus the
// kernel's prefix route and the caller's default route in main for the
// address being managed (never under NetworkManager). The parts: specs.ts
// (what an address needs), ranking.ts (the band and main's suppress rule), sysctls.ts,
// stale.ts (dhclient's stale leases), the planners up.ts and down.ts.

import type { Config } from '../config/schema.js';
import type { KernelState } from '../state/types.js';
import type { Plan } from './change.js';
import { planAddressDown, planInterfaceGone } from './down.js';
import type { PlanEvent } from './event.js';
import { Builder } from './builder.js';
import { rerank } from './ranking.js';
import { indexState } from './index.js';
import { planAddressUp } from './up.js';

/** What one plan is made from. */
export interface PlanInput {
  state: KernelState;
  event: PlanEvent;
  config: Config;
  /** Uplinks whose upstream is down (ranking.ts healthKey): they rank after the healthy ones. */
  down?: ReadonlySet<string>;
  /** Table leased for the event's address; 0 = no lease (fallback to main). Ignored for down events. */
  table: number;
}

/** Plans the changes one event needs. Pure: same input, same plan. */
export function planEvent(input: PlanInput): Plan {
  const idx = { ...indexState(input.state, input.config), ...(input.down ? { down: input.down } : {}) };
  switch (input.event.kind) {
    case 'address-up':
      return planAddressUp(input.state, idx, input.event, input.config, input.table);
    case 'address-down':
      return planAddressDown(input.state, idx, input.event, input.config);
    case 'interface-gone':
      return planInterfaceGone(input.state, idx, input.event, input.config);
    case 'rerank': {
      const b = new Builder();
      rerank(b, input.config, idx, input.event.family);
      return { changes: b.list(), table: 0, degraded: false, released: [] };
    }
  }
}
