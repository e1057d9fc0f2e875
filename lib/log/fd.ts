// Writes to stdout and stderr without their streams. process.stdout and
// process.stderr are created on first use, and for a pipe (the dhclient
// shim's $(…), a hook run by a test or a benchmark) that is a net.Socket:
// node:net, its stream modules and a pipe handle, ~2–5 ms of a hook's start.
// A blocking descriptor takes the text in one synchronous write; a
// non-blocking one that is full (EAGAIN) gets the rest through the stream,
// and from then on every write does, so the order of lines is kept.

import { writeSync } from 'node:fs';

const viaStream = new Set<1 | 2>();

export function writeFd(fd: 1 | 2, text: string): void {
  let rest = Buffer.from(text);
  if (!viaStream.has(fd)) {
    try {
      while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest));
      return;
    } catch {
      viaStream.add(fd);
    }
  }
  (fd === 1 ? process.stdout : process.stderr).write(rest);
}

export const writeStdout = (text: string) => writeFd(1, text);
export const writeStderr = (text: string) => writeFd(2, text);
