import { describe, expect, it } from 'vitest';
import { takeListenFds } from '../../../lib/daemon/activation.js';

describe('socket activation: the descriptor systemd passed', () => {
  it.each([
    ['ours, one socket', { LISTEN_PID: '42', LISTEN_FDS: '1' }, { fd: 3, extra: 0 }],
    ['ours, two sockets: the first is served', { LISTEN_PID: '42', LISTEN_FDS: '2', LISTEN_FDNAMES: 'a:b' }, { fd: 3, extra: 1 }],
    ['none passed', { LISTEN_PID: '42', LISTEN_FDS: '0' }, undefined],
    ["another process's (a parent's leftovers)", { LISTEN_PID: '41', LISTEN_FDS: '1' }, undefined],
    ['no variables: started without systemd', {}, undefined],
    ['only one of the two', { LISTEN_FDS: '1' }, undefined],
    ['a pid that is not one', { LISTEN_PID: '42x', LISTEN_FDS: '1' }, undefined],
  ])('%s', (_, given, expected) => {
    const env: NodeJS.ProcessEnv = { PATH: '/bin', ...given };
    expect(takeListenFds(env, 42)).toEqual(expected);
    expect(env).toEqual({ PATH: '/bin' }); // never inherited by ip, logger
  });

  it('a count systemd never sets is an error that says what it received', () => {
    expect(() => takeListenFds({ LISTEN_PID: '42', LISTEN_FDS: '1;rm' }, 42)).toThrow('LISTEN_FDS: expected a number of descriptors, received "1;rm"');
  });
});
