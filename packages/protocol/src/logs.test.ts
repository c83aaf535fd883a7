import { describe, expect, it } from 'vitest';
import { LOG_LIMITS, renderLogText } from './logs.js';

describe('renderLogText', () => {
  it('puts the event and its own fields on one line, leaving out what the columns say', () => {
    const text = renderLogText('epoch.done', {
      jobId: 'j-1',
      rank: 0,
      attempt: 1,
      trainer: 't1',
      epoch: 3,
      testAcc: 0.98123456,
      note: 'two words',
      error: new Error('boom'),
    });
    expect(text).toBe('epoch.done epoch=3 testAcc=0.981235 note="two words" error="boom"');
    expect(renderLogText('x', { multi: 'a\nb' })).toBe('x multi="a\\nb"');
    expect(renderLogText('x', { s: 'y'.repeat(5000) })).toHaveLength(LOG_LIMITS.textChars);
  });
});
