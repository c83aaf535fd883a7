import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, createEnv, envBoolean, envInt, LOG_ENV } from './index.js';

describe('createEnv', () => {
  const env = createEnv({
    ...LOG_ENV,
    HEARTBEAT_MS: envInt(100).default(2_000),
    PUBLIC: envBoolean.default(false),
    NAME: z.string().optional(),
  });

  it('treats empty as unset, so defaults apply to both', () => {
    expect(env.parse({})).toEqual({ LOG_LEVEL: 'info', HEARTBEAT_MS: 2_000, PUBLIC: false });
    expect(env.parse({ LOG_LEVEL: '', HEARTBEAT_MS: '', PUBLIC: '', NAME: '' })).toEqual({
      LOG_LEVEL: 'info',
      HEARTBEAT_MS: 2_000,
      PUBLIC: false,
    });
  });

  it('parses what is set and ignores variables outside the shape', () => {
    expect(env.parse({ LOG_LEVEL: 'debug', HEARTBEAT_MS: '250', PUBLIC: 'Yes', NAME: 'a', PATH: '/bin' })).toEqual({
      LOG_LEVEL: 'debug',
      HEARTBEAT_MS: 250,
      PUBLIC: true,
      NAME: 'a',
    });
  });

  it('names every bad variable in one ConfigError', () => {
    let error: unknown;
    try {
      env.parse({ LOG_LEVEL: 'loud', HEARTBEAT_MS: '5', PUBLIC: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.variable).sort()).toEqual([
      'HEARTBEAT_MS',
      'LOG_LEVEL',
      'PUBLIC',
    ]);
    expect((error as Error).message).toMatch(/PUBLIC: must be 1\/0, true\/false/);
  });
});
