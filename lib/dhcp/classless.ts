// RFC 3442 classless static routes (DHCP option 121), as dhclient hands them
// to dhclient-script: space-separated decimal bytes. Each route is
//   width, the significant octets of the destination (ceil(width / 8) of them),
//   the router's four octets (0.0.0.0: the destination is on-link).
// The option must parse exactly: a short or trailing route, a byte out of
// range, a width above 32 or host bits set reject the whole option (no route
// of a half-parsed option is ever used).

import { ipFromValue, prefixOf, type IpAddress, type IpPrefix } from '../net/address.js';
import { DhcpEnvError, isUnicast } from './fields.js';
import { isCanonicalDecimal, splitOn } from '../text/lex.js';

export interface ClasslessRoute {
  destination: IpPrefix;
  /** Absent when the router is 0.0.0.0 (on-link route). */
  gateway?: IpAddress;
}

/** Most routes accepted in one option (RFC 3442 fits ~50 in 255 bytes). */
export const MAX_CLASSLESS_ROUTES = 64;

/** Parses the option's decimal byte string; throws DhcpEnvError naming `variable`. */
export function parseClasslessRoutes(variable: string, text: string): ClasslessRoute[] {
  const tokens = splitOn(text, ' \t');
  const bytes = tokens.map((token) => {
    if (!isCanonicalDecimal(token, 3) || Number(token) > 255) {
      throw new DhcpEnvError(variable, 'RFC 3442 routes as decimal bytes 0..255', text);
    }
    return Number(token);
  });
  const routes: ClasslessRoute[] = [];
  let i = 0;
  while (i < bytes.length) {
    const width = bytes[i]!;
    if (width > 32) {
      throw new DhcpEnvError(variable, `a destination width 0..32 at byte ${i + 1}`, text);
    }
    const significant = Math.ceil(width / 8);
    const need = 1 + significant + 4;
    if (i + need > bytes.length) {
      throw new DhcpEnvError(
        variable,
        `${need} bytes for the /${width} route at byte ${i + 1}, only ${bytes.length - i} left`,
        text,
      );
    }
    let network = 0n;
    for (let k = 0; k < 4; k++) network = (network << 8n) | BigInt(k < significant ? bytes[i + 1 + k]! : 0);
    let router = 0n;
    for (let k = 0; k < 4; k++) router = (router << 8n) | BigInt(bytes[i + 1 + significant + k]!);
    const destination = prefixOf(ipFromValue(4, network), width);
    if (destination.network.value !== network) {
      throw new DhcpEnvError(
        variable,
        `the /${width} destination at byte ${i + 1} to have its host bits clear (${destination.text}), not ${ipFromValue(4, network).text}`,
        text,
      );
    }
    const gateway = ipFromValue(4, router);
    if (router !== 0n && !isUnicast(gateway)) {
      throw new DhcpEnvError(variable, `a unicast router for ${destination.text}, not ${gateway.text}`, text);
    }
    routes.push(router === 0n ? { destination } : { destination, gateway });
    if (routes.length > MAX_CLASSLESS_ROUTES) {
      throw new DhcpEnvError(variable, `at most ${MAX_CLASSLESS_ROUTES} routes`, text);
    }
    i += need;
  }
  return routes;
}
