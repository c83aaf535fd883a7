import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { armedFailpoints } from './failpoints.js';

describe('failpoints', () => {
  it('arms the listed points; none when unset', () => {
    expect([...armedFailpoints({ MNIST_FAILPOINTS: ' submit.after-record, ' })]).toEqual(['submit.after-record']);
    expect(armedFailpoints({}).size).toBe(0);
  });

  it('refuses an unknown name rather than never firing', () => {
    expect(() => armedFailpoints({ MNIST_FAILPOINTS: 'submit.after-recrod' })).toThrow(ConfigError);
    expect(() => armedFailpoints({ MNIST_FAILPOINTS: 'submit.after-recrod' })).toThrow(/known: submit.after-record/);
  });
});
