// The DNS probe against a real UDP server on loopback: any answer with the
// query's id counts, a second answer to the same query (a duplicating
// network, a hostile resolver) neither throws nor changes the result, and
// silence is a failure after the time-out.

import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { sendProbe } from '../../../lib/health/probe.js';

let server: Socket | undefined;
afterEach(() => server?.close());

/** A resolver on 127.0.0.1 that answers each query `copies` times (0: never); its port. */
async function resolver(copies: number): Promise<number> {
  server = createSocket('udp4');
  server.on('message', (msg, from) => {
    const answer = Buffer.from(msg);
    answer[2] = answer[2]! | 0x80; // QR: a response (rcode whatever: it counts)
    for (let i = 0; i < copies; i++) server!.send(answer, from.port, from.address);
  });
  await new Promise<void>((r) => server!.bind(0, '127.0.0.1', r));
  return server.address().port;
}

const probe = (port: number, timeoutMs = 500) => sendProbe({ source: '127.0.0.1', family: 4, target: '127.0.0.1', method: { name: 'dns', port }, timeoutMs });

describe('the DNS probe', () => {
  it('an answer counts, with its round-trip time', async () => {
    const r = await probe(await resolver(1));
    expect(r.ok).toBe(true);
    expect(r.rttMs).toBeGreaterThanOrEqual(0);
  });

  it('the same answer twice: one result, no error (the socket closes once)', async () => {
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on('uncaughtException', onError);
    try {
      expect((await probe(await resolver(3))).ok).toBe(true);
      await new Promise((r) => setTimeout(r, 50)); // the later copies arrive
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(errors).toEqual([]);
  });

  it('no answer: failed after the time-out', async () => {
    const t0 = performance.now();
    expect((await probe(await resolver(0), 200)).ok).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
  });
});
