import { describe, expect, it } from 'vitest';
import { ConfigError } from '@mnist/core';
import { splitNatsAuth } from './nats-auth.js';

describe('splitNatsAuth', () => {
  it('leaves servers without credentials alone', () => {
    expect(splitNatsAuth(['nats://127.0.0.1:4222', 'nats:4222'])).toEqual({
      servers: ['nats://127.0.0.1:4222', 'nats:4222'],
    });
  });

  it('splits user and password off, percent-decoded', () => {
    expect(splitNatsAuth(['nats://mnist:s%40cret%3Ax@nats:4222', 'nats://mnist:s%40cret%3Ax@nats-2:4222'])).toEqual({
      servers: ['nats://nats:4222', 'nats://nats-2:4222'],
      user: 'mnist',
      pass: 's@cret:x',
    });
  });

  it('reads a lone userinfo as a token', () => {
    expect(splitNatsAuth(['tls://t0ken@nats:4222'])).toEqual({ servers: ['tls://nats:4222'], token: 't0ken' });
  });

  it('refuses servers with different credentials', () => {
    expect(() => splitNatsAuth(['nats://a:1@n1:4222', 'nats://a:2@n2:4222'])).toThrow(ConfigError);
  });
});
