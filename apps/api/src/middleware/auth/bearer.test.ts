import { describe, expect, it } from 'vitest';
import { parseBearer } from './bearer.js';

const TOKEN = 'correct-horse-battery-staple';

describe('parseBearer', () => {
  it('trims whitespace around the field value (what Node does and workerd does not)', () => {
    for (const v of [
      `Bearer ${TOKEN}`,
      `Bearer ${TOKEN} `,
      `Bearer ${TOKEN}\t`,
      ` \tBearer ${TOKEN} \t `,
      `bearer   ${TOKEN}`,
      `BEARER ${TOKEN}==`.slice(0, -2),
    ]) {
      expect(parseBearer(v), JSON.stringify(v)).toEqual({ kind: 'token', token: TOKEN });
    }
    expect(parseBearer('Bearer abc+/=')).toEqual({ kind: 'token', token: 'abc+/=' });
  });

  it('is missing when absent or empty, malformed for anything but "Bearer" 1*SP token68', () => {
    for (const v of [undefined, null, '', ' \t ']) expect(parseBearer(v)).toEqual({ kind: 'missing' });
    for (const v of [
      TOKEN,
      `Basic ${TOKEN}`,
      'Bearer',
      `Bearer\t${TOKEN}`,
      `Bearer ${TOKEN} x`,
      `Bearer ${TOKEN}\tx`,
      'Bearer a=b',
      `Bearer${TOKEN}`,
    ]) {
      expect(parseBearer(v), JSON.stringify(v)).toEqual({ kind: 'malformed' });
    }
  });
});
