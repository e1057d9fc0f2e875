// Lines of `ip -o monitor label link address route rule`, parsed (pure).
//
// iproute2 ignores -json for `monitor` (6.1 prints text whatever it is
// asked), so the watcher reads the one-line text form with labels and uses
// each line only as a trigger: which object changed, on which interface,
// added or deleted. What to do is decided from a full `ip -json` read of the
// state afterwards, so a line this parser cannot read costs nothing but a
// (coalesced) re-read.

export type MonitorObject = 'link' | 'address' | 'route' | 'rule' | 'other';

export interface MonitorEvent {
  object: MonitorObject;
  deleted: boolean;
  ifname?: string;
  ifindex?: number;
  /** link: administratively up; address: undefined. */
  up?: boolean;
  family?: 4 | 6;
  /** address: `A/len`; route: destination as printed (`default`, `10.0.0.0/24`). */
  address?: string;
  /** address: `global`, `link`, `host`. */
  scope?: string;
  /** route/rule: the protocol as printed (`kernel`, `ra`, `201`). */
  protocol?: string;
  /** route: table as printed (`main` when none is printed). */
  table?: string;
  /** route: type when printed first (`local`, `broadcast`, `multicast`, …); `unicast` otherwise. */
  routeType?: string;
}

const LABELS: Record<string, MonitorObject> = { LINK: 'link', ADDR: 'address', ROUTE: 'route', RULE: 'rule' };
const ROUTE_TYPES = new Set(['local', 'broadcast', 'multicast', 'anycast', 'unreachable', 'prohibit', 'blackhole', 'throw', 'nat']);

/** Parses one line; undefined for blank lines. Never throws. */
export function parseMonitorLine(raw: string): MonitorEvent | undefined {
  let line = raw.replace(/\r?\n$/, '');
  if (line.trim() === '') return undefined;
  line = line.replace(/^\[\d{4}-\d\d-\d\dT[\d:.]+\]\s*/, ''); // -ts
  const label = /^\[([A-Z]+)\]/.exec(line);
  let object: MonitorObject = 'other';
  if (label) {
    object = LABELS[label[1]!] ?? 'other';
    line = line.slice(label[0].length);
  }
  let deleted = false;
  if (line.startsWith('Deleted ')) {
    deleted = true;
    line = line.slice('Deleted '.length);
  }
  const ev: MonitorEvent = { object, deleted };
  const words = line.split(/\s+/).filter(Boolean);
  const after = (key: string) => {
    const i = words.indexOf(key);
    return i >= 0 ? words[i + 1] : undefined;
  };
  switch (object) {
    case 'link': {
      const m = /^(\d+): ([^\s:@]+)(?:@[^\s:]*)?: <([^>]*)>/.exec(line);
      if (m) {
        ev.ifindex = Number(m[1]);
        ev.ifname = m[2]!;
        ev.up = m[3]!.split(',').includes('UP');
      }
      break;
    }
    case 'address': {
      const m = /^(\d+): (\S+)\s+(inet6?) (\S+)/.exec(line);
      if (m) {
        ev.ifindex = Number(m[1]);
        ev.ifname = m[2]!;
        ev.family = m[3] === 'inet6' ? 6 : 4;
        ev.address = m[4]!;
        const scope = after('scope');
        if (scope) ev.scope = scope;
      }
      break;
    }
    case 'route': {
      let first = words[0];
      if (first && ROUTE_TYPES.has(first)) {
        ev.routeType = first;
        first = words[1];
      } else ev.routeType = 'unicast';
      if (first) ev.address = first;
      const dev = after('dev');
      if (dev) ev.ifname = dev;
      ev.table = after('table') ?? 'main';
      const proto = after('proto');
      if (proto) ev.protocol = proto;
      const text = `${first ?? ''} ${after('via') ?? ''}`;
      ev.family = text.includes(':') ? 6 : 4;
      break;
    }
    case 'rule': {
      const proto = after('proto');
      if (proto) ev.protocol = proto;
      break;
    }
    default:
      break;
  }
  return ev;
}

export interface RelevanceConfig {
  protocol: number;
  isIgnored: (ifname: string) => boolean;
}

/**
 * Whether a line can change what the watcher has to do. Rules and routes of
 * ours are, added or deleted: a hook finishing is when the watcher learns
 * what a complete entry looks like (its snapshot, to rebuild a flushed
 * table), and a deletion may be someone else's. A repair's own additions
 * cause one more pass, which finds nothing to do: no loop.
 */
export function isRelevant(ev: MonitorEvent, config: RelevanceConfig): boolean {
  const ours = ev.protocol === String(config.protocol);
  if (ev.ifname !== undefined && config.isIgnored(ev.ifname) && !ours) return false;
  switch (ev.object) {
    case 'link':
      return true;
    case 'address':
      return ev.scope !== 'link' && ev.scope !== 'host';
    case 'route':
      if (ours) return true;
      if (ev.routeType !== 'unicast' || ev.table === 'local') return false;
      // Main's default routers (RA's coming and going with the router lifetime;
      // NetworkManager's, networkd's): mirrored into SLAAC and adopted tables.
      return ev.address === 'default' && ev.table === 'main';
    case 'rule':
      return ours;
    default:
      return true; // unknown: a re-read is cheap, a missed change is not
  }
}
