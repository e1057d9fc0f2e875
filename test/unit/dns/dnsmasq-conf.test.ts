import { describe, expect, it } from 'vitest';
import { dnsmasqReads, type ConfFs } from '../../../lib/dns/dnsmasq-conf.js';

const fakeFs = (files: Record<string, string>): ConfFs => ({
  read: (p) => files[p],
  list: (dir) => {
    const names = Object.keys(files).filter((f) => f.startsWith(`${dir}/`)).map((f) => f.slice(dir.length + 1));
    return names.length ? names : undefined;
  },
});

describe('dnsmasqReads', () => {
  const debian = ['/usr/sbin/dnsmasq', '-x', '/run/dnsmasq/dnsmasq.pid', '-u', 'dnsmasq', '-7', '/etc/dnsmasq.d,.dpkg-dist,.dpkg-old,.dpkg-new', '--local-service'];
  it.each<{ name: string; argv: string[]; files: Record<string, string>; servers: string[]; confs: string[] }>([
    { name: "Debian's command line, drop-in in conf-dir", argv: debian, files: { '/etc/dnsmasq.conf': '# all commented\n', '/etc/dnsmasq.d/multihomed-routing.conf': 'servers-file=/run/mhr/servers.conf\n', '/etc/dnsmasq.d/x.conf.dpkg-old': 'servers-file=/old\n', '/etc/dnsmasq.d/README': '# readme\n' }, servers: ['/run/mhr/servers.conf'], confs: ['/etc/dnsmasq.conf', '/etc/dnsmasq.d/README', '/etc/dnsmasq.d/multihomed-routing.conf'] },
    { name: 'servers-file on the command line, --conf-file= disables the default', argv: ['dnsmasq', '--conf-file=/srv/d.conf', '--servers-file=/a'], files: { '/etc/dnsmasq.conf': 'servers-file=/never\n', '/srv/d.conf': 'conf-file=/srv/more.conf\n', '/srv/more.conf': 'servers-file = /b\n' }, servers: ['/b', '/a'], confs: ['/srv/d.conf', '/srv/more.conf'] },
    { name: 'conf-dir with an only-these filter', argv: ['dnsmasq', '--conf-dir=/etc/d,*.conf'], files: { '/etc/d/a.conf': 'servers-file=/a\n', '/etc/d/b.txt': 'servers-file=/b\n' }, servers: ['/a'], confs: ['/etc/d/a.conf'] },
    { name: 'nothing', argv: ['dnsmasq', '-C', '/none'], files: {}, servers: [], confs: [] },
  ])('$name', ({ argv, files, servers, confs }) => {
    expect(dnsmasqReads(argv, fakeFs(files))).toEqual({ serversFiles: servers, confFiles: confs });
  });
});
