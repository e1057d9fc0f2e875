// Files the demo installs into its sandbox, embedded in the executable at
// build time (esbuild's text loader, build/build.mjs): the same sources
// install.sh installs from.
import dhclientShim from '../../hooks/dhclient/shim.sh';
import udevRule from '../../hooks/udev/99-multihomed-routing.rules';

export { dhclientShim, udevRule };
