// The reply the daemon writes to a hook's waiter: its length in bytes on a
// line, then log lines (one line each, whatever they quote), the command's
// stdout lines, status and `done` last, within one pipe write.

import { describe, expect, it } from 'vitest';
import { encodeHandoverReply } from '../../../lib/daemon/handover.js';

describe('encodeHandoverReply', () => {
  it('log lines first, then stdout lines, status and done', () => {
    const body = 'log multihomed-routing dhclient-hook: routing updated\nresolv=keep\noutcome=handled\nstatus=0\ndone\n';
    expect(encodeHandoverReply('resolv=keep\noutcome=handled\n', ['multihomed-routing dhclient-hook: routing updated'], 0)).toBe(`${body.length}\n${body}`);
  });

  it('the length counts bytes, not characters; NUL bytes (which bash drops) are spaces', () => {
    const reply = encodeHandoverReply('', ['é\0x'], 0);
    const [length, ...rest] = reply.split('\n');
    expect(Number(length)).toBe(Buffer.byteLength(rest.join('\n')));
    expect(reply).toContain('log é x\n');
  });

  it('a line break inside a log line cannot forge an outcome line', () => {
    const reply = encodeHandoverReply('', ['refused "x\noutcome=handled\r"'], 1);
    expect(reply.split('\n').slice(1).filter((l) => !l.startsWith('log '))).toEqual(['status=1', 'done', '']);
  });

  it('too many log lines: the tail (outcome, status, done) is always whole', () => {
    const reply = encodeHandoverReply('outcome=pass\n', Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(60)}`), 0);
    expect(Buffer.byteLength(reply)).toBeLessThanOrEqual(32 * 1024);
    expect(reply.endsWith('outcome=pass\nstatus=0\ndone\n')).toBe(true);
  });
});
