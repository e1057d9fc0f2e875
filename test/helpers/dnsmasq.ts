// The routers' dnsmasq argv and query-log parser live in lib/sandbox (the
// demo uses them too); re-exported for the test bed.
export * from '../../lib/sandbox/dnsmasq.js';
