import { describe, expect, it } from 'vitest';
import { Reporter, fit, logGist, wrap } from '../../../lib/demo/report.js';
import { WIDTH } from '../../../lib/text/wrap.js';

const capture = (json = false) => {
  let text = '';
  return { r: new Reporter((t) => (text += t), json), text: () => text };
};

describe('demo report', () => {
  it('wraps and cuts to 80 columns (characters, not bytes)', () => {
    const long = 'word '.repeat(40);
    const lines = wrap(long, '    ', ' 1. ');
    expect(lines[0]!.startsWith(' 1. word')).toBe(true);
    expect(lines.slice(1).every((l) => l.startsWith('    word'))).toBe(true);
    expect(lines.every((l) => [...l].length <= WIDTH)).toBe(true);
    expect(fit('✓'.repeat(100))).toHaveLength(WIDTH);
    expect(fit('✓'.repeat(100)).endsWith('…')).toBe(true);
    expect(fit('short')).toBe('short');
  });

  it('a green run: numbered steps, ✓ per check, the duration', () => {
    const { r, text } = capture();
    r.step('First');
    r.check(true, 'it worked');
    r.step('Second');
    r.show('ip rule', ['0:\tfrom all lookup local']);
    const rep = r.finish();
    expect(rep.ok).toBe(true);
    expect(text()).toMatch(/^ 1\. First\n {4}✓ it worked\n\n 2\. Second\n {4}\$ ip rule\n/m);
    expect(text()).toMatch(/✓ all 2 steps behaved, in \d+\.\d s\.\n$/);
  });

  it('names the first step that did not behave, with what was seen', () => {
    const { r, text } = capture();
    r.step('Fine');
    r.check(true, 'ok');
    r.step('Unplug the modem', 9);
    r.check(true, 'rules gone');
    r.check(false, 'dhclient stopped', 'still running');
    r.step('Remove the sandbox', 10);
    r.check(true, 'all gone');
    const rep = r.finish(['x']);
    expect(rep.ok).toBe(false);
    expect(rep.failed).toEqual({ n: 9, title: 'Unplug the modem', reason: 'dhclient stopped: no, still running' });
    expect(text()).toContain('    ✗ dhclient stopped\n      → still running\n');
    expect(text()).toMatch(/✗ step 9 did not behave \(Unplug the modem\): dhclient stopped: no, still running\.\s+\d+\.\d s\./);
  });

  it('a command that failed fails its step', () => {
    const { r } = capture();
    r.step('Build');
    r.fail('missing programs: dnsmasq (Debian: dnsmasq-base)');
    expect(r.finish().failed?.reason).toBe('missing programs: dnsmasq (Debian: dnsmasq-base)');
  });

  it('--json: nothing on the way, one document at the end', () => {
    const { r, text } = capture(true);
    r.step('One');
    r.check(false, 'nope', 'seen');
    expect(text()).toBe('');
    r.finish();
    const doc = JSON.parse(text());
    expect(doc).toMatchObject({ ok: false, failed: { n: 1 }, steps: [{ n: 1, title: 'One', ok: false, checks: [{ ok: false, text: 'nope', detail: 'seen' }] }] });
  });

  it.each([
    ['multihomed-routing udev-remove: interface gone iface=wwan1 table=3 do="ip -4 rule del pref 10000 from 192.168.8.100/32 lookup 3"', 'ip -4 rule del pref 10000 from 192.168.8.100/32 lookup 3'],
    ['multihomed-routing udev-remove: dhclient of the removed interface: SIGTERM iface=wwan1 pid=5', 'dhclient of the removed interface: SIGTERM'],
    ['plain text', 'plain text'],
  ])('log line gist: %s', (line, gist) => expect(logGist(line)).toBe(gist));
});
