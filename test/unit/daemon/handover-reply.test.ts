// The reply the daemon writes to a hook's waiter: the PID it answers and its
// length in bytes on a line, then log lines (one line each, whatever they
// quote), the command's stdout lines, status and `done` last, within one
// pipe write.

import { describe, expect, it } from 'vitest';
import { encodeHandoverReply, refusedReply } from '../../../lib/daemon/handover.js';

describe('encodeHandoverReply', () => {
  it('addressed to the hook, log lines first, then stdout lines, status and done', () => {
    const body = 'log multihomed-routing dhclient-hook: routing updated\nresolv=keep\noutcome=handled\nstatus=0\ndone\n';
    expect(encodeHandoverReply(4321, 'resolv=keep\noutcome=handled\n', ['multihomed-routing dhclient-hook: routing updated'], 0)).toBe(`4321 ${body.length}\n${body}`);
    expect(refusedReply(4321)).toBe('4321 0\n');
  });

  it('the length counts bytes, not characters; NUL bytes (which bash drops) are spaces', () => {
    const reply = encodeHandoverReply(7, '', ['é\0x'], 0);
    const [header, ...rest] = reply.split('\n');
    expect(header).toMatch(/^7 \d+$/);
    expect(Number(header!.split(' ')[1])).toBe(Buffer.byteLength(rest.join('\n')));
    expect(reply).toContain('log é x\n');
  });

  it('a line break inside a log line cannot forge an outcome line', () => {
    const reply = encodeHandoverReply(7, '', ['refused "x\noutcome=handled\r"'], 1);
    expect(reply.split('\n').slice(1).filter((l) => !l.startsWith('log '))).toEqual(['status=1', 'done', '']);
  });

  it('too many log lines: the tail (outcome, status, done) is always whole, the header included within one pipe write', () => {
    const reply = encodeHandoverReply(4_194_304, 'outcome=pass\n', Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(60)}`), 0);
    expect(Buffer.byteLength(reply)).toBeLessThanOrEqual(32 * 1024);
    expect(reply.endsWith('outcome=pass\nstatus=0\ndone\n')).toBe(true);
  });
});
