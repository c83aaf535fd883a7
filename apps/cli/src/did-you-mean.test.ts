import { describe, expect, it } from 'vitest';
import { closest } from './did-you-mean.js';

describe('closest', () => {
  it('finds typos and unique prefixes, and nothing for an unrelated word', () => {
    const verbs = ['submit', 'status', 'sweep', 'jobs', 'logs', 'watch'];
    expect(closest('sbumit', verbs)).toBe('submit');
    expect(closest('job', verbs)).toBe('jobs');
    expect(closest('stat', verbs)).toBe('status');
    expect(closest('deploy', verbs)).toBeUndefined();
    expect(closest('epoch', ['epochs', 'seed', 'lr'])).toBe('epochs');
  });
});
