import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_BYTES, parseRequest as parseObject, parseResponse, parseWireLease } from '../../../lib/allocator/protocol.js';
import { parseMessage } from '../../../lib/ipc/message.js';

/** A request line as the daemon reads it: the message (lib/ipc/message.ts), then the request. */
const parseRequest = (line: string) => {
  const message = parseMessage(line, MAX_REQUEST_BYTES);
  return message.ok ? parseObject(message.value) : message;
};

const req = (o: Record<string, unknown>) => JSON.stringify({ version: 1, cmd: 'request', ifname: 'eth0', address: '192.0.2.1', addr_family: 4, ...o });

describe('parseRequest', () => {
  it.each([
    [req({}), { version: 1, cmd: 'request', ifname: 'eth0', address: '192.0.2.1', addr_family: 4 }],
    [req({ tag: 'dhcp eth0' }), { cmd: 'request', tag: 'dhcp eth0' }],
    [req({ tag: '' }), { cmd: 'request', address: '192.0.2.1' }],
    [req({ address: '2001:DB8:0:0::1', addr_family: 6 }), { address: '2001:db8::1', addr_family: 6 }],
    [req({ address: '::ffff:192.0.2.1', addr_family: 6 }), { address: '::ffff:192.0.2.1', addr_family: 6 }],
    [req({ cmd: 'release', tag: 'ignored' }), { cmd: 'release', ifname: 'eth0' }],
    [req({ extra: 'ignored' }), { cmd: 'request' }],
    [JSON.stringify({ version: 1, cmd: 'list' }), { version: 1, cmd: 'list' }],
    [req({ ifname: 'wwan$(reboot)' }), { ifname: 'wwan$(reboot)' }], // legal for the kernel, never reaches a shell
  ])('accepts %s', (line, expected) => {
    const parsed = parseRequest(line);
    expect(parsed).toMatchObject({ ok: true, value: expected });
  });

  it.each([
    ['', /not JSON/],
    ['garbage', /not JSON/],
    ['{"version":1,', /not JSON/],
    ['null', /a JSON object/],
    ['[1,2]', /a JSON object/],
    ['"request"', /a JSON object/],
    [req({ version: 2 }), /version: expected 1, received 2/],
    [req({ version: '1' }), /version: expected 1, received "1"/],
    [req({ cmd: 'response' }), /cmd: expected request, release or list/],
    [req({ cmd: undefined }), /cmd: expected/],
    [req({ addr_family: '4' }), /addr_family: expected 4 or 6, received "4"/],
    [req({ addr_family: 10 }), /addr_family/],
    [req({ address: '2001:db8::1' }), /address: expected an IPv4 address, received "2001:db8::1"/],
    [req({ address: '192.0.2.1', addr_family: 6 }), /expected an IPv6 address/],
    [req({ address: '192.0.2.256' }), /expected an IPv4 address/],
    [req({ address: '192.0.2.1/24' }), /expected an IPv4 address/],
    [req({ address: 42 }), /address: expected a string, received number/],
    [req({ address: { toString: 'x' } }), /address: expected a string/],
    [req({ ifname: '' }), /ifname: .*empty/],
    [req({ ifname: 'a'.repeat(16) }), /ifname: .*longer than 15 bytes/],
    [req({ ifname: 'ééééééééé' }), /longer than 15 bytes/], // 9 chars, 18 bytes
    [req({ ifname: 'eth0/x' }), /ifname/],
    [req({ ifname: 'eth 0' }), /ifname/],
    [req({ ifname: '..' }), /reserved name/],
    [req({ ifname: ['eth0'] }), /ifname/],
    [req({ tag: 7 }), /tag: expected a string/],
    [req({ tag: 'x'.repeat(65) }), /tag: expected at most 64/],
    [req({ tag: 'a\nb' }), /printable ASCII/],
    [req({ tag: 'a\u0000' }), /printable ASCII/],
    [req({ tag: 'x'.repeat(MAX_REQUEST_BYTES) }), /longer than 4096 bytes/],
    ['{"__proto__":{"version":1},"cmd":"list"}', /version: expected 1/],
  ])('refuses %s', (line, error) => {
    const parsed = parseRequest(line);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error).toMatch(error);
  });
});

describe('parseResponse', () => {
  it('accepts a grant, an error and a list', () => {
    expect(parseResponse('{"version":1,"cmd":"response","table":10000,"lease_expires":5}')).toMatchObject({ ok: true, value: { table: 10000 } });
    expect(parseResponse('{"version":1,"cmd":"response","table":0,"error":"full"}')).toMatchObject({ ok: true, value: { error: 'full' } });
    const list = parseResponse(
      JSON.stringify({ version: 1, cmd: 'response', leases: [{ ifname: 'e', address: '::1', addr_family: 6, table: 3, lease_expires: 9 }] }),
    );
    expect(list).toMatchObject({ ok: true, value: { leases: [{ table: 3 }] } });
  });

  it.each([
    ['nope'],
    ['{"version":1,"cmd":"request"}'],
    ['{"version":2,"cmd":"response"}'],
    ['{"version":1,"cmd":"response","table":-1}'],
    ['{"version":1,"cmd":"response","table":"1"}'],
    ['{"version":1,"cmd":"response","error":{}}'],
    ['{"version":1,"cmd":"response","leases":{}}'],
    ['{"version":1,"cmd":"response","leases":[{"ifname":"e","address":"x","addr_family":4,"table":1,"lease_expires":1}]}'],
  ])('refuses %s', (line) => {
    expect(parseResponse(line).ok).toBe(false);
  });
});

describe('parseWireLease', () => {
  const good = { ifname: 'eth0', address: '192.0.2.1', addr_family: 4, table: 100, lease_expires: 1 };
  it.each([
    [{ ...good, table: 0 }],
    [{ ...good, table: 1.5 }],
    [{ ...good, table: 2 ** 32 }],
    [{ ...good, lease_expires: -1 }],
    [{ ...good, lease_expires: '1' }],
    [{ ...good, tag: '\u0007' }],
    [{ ...good, addr_family: 6 }],
  ])('refuses %j', (o) => expect(parseWireLease(o)).toBeUndefined());
  it('accepts a good one and canonicalises its address', () => {
    expect(parseWireLease({ ...good, address: '2001:0DB8::0001', addr_family: 6 })).toEqual({ ...good, address: '2001:db8::1', addr_family: 6 });
  });
});
