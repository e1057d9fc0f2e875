// Asks one DNS server one question and prints the answers as JSON. Run inside
// a test namespace by Netns.dnsQuery (no dig on the machine; node is there).
//   node dns-query.mjs SERVER NAME [A|AAAA] [LOCAL_ADDRESS]
import { Resolver } from 'node:dns/promises';

const [server, name, type = 'A', local] = process.argv.slice(2);
const resolver = new Resolver({ timeout: 2000, tries: 1 });
resolver.setServers([server]);
if (local) {
  if (local.includes(':')) resolver.setLocalAddress('0.0.0.0', local);
  else resolver.setLocalAddress(local);
}
try {
  const answers = type === 'AAAA' ? await resolver.resolve6(name) : await resolver.resolve4(name);
  process.stdout.write(`${JSON.stringify(answers)}\n`);
} catch (err) {
  process.stderr.write(`dns-query: ${err.code ?? err.message}\n`);
  process.exitCode = 1;
}
