import { describe, expect, it } from 'vitest';
import { expandSweep, InvalidSweepError, MAX_SWEEP_JOBS, summarizeSweep, sweepState } from './sweep.js';
import { JobRecordSchema } from './cluster.js';

const issues = (input: unknown) => {
  try {
    expandSweep(input, 's-test');
  } catch (err) {
    if (err instanceof InvalidSweepError) return err.issues;
    throw err;
  }
  throw new Error('expected InvalidSweepError');
};

describe('expandSweep', () => {
  it('builds one complete spec per grid point: models x lr x batch x seeds', () => {
    const specs = expandSweep(
      {
        models: ['lenet5', 'mlp'],
        seeds: 3,
        lr: [0.01, 0.05],
        batchSize: [32],
        base: { epochs: 2, seed: 7, trainLimit: 512 },
      },
      's-abc',
    );
    expect(specs).toHaveLength(12);
    expect(specs.map((s) => s.seed).slice(0, 3)).toEqual([7, 8, 9]);
    expect(
      specs.every((s) => s.sweepId === 's-abc' && s.epochs === 2 && s.batchSize === 32 && s.trainLimit === 512),
    ).toBe(true);
    expect(specs.map((s) => `${s.model}:${s.optimizer.lr}`).filter((v, i, a) => a.indexOf(v) === i)).toEqual([
      'lenet5:0.01',
      'lenet5:0.05',
      'mlp:0.01',
      'mlp:0.05',
    ]);
    expect(specs[0]!.optimizer).toEqual({ type: 'sgd', lr: 0.01, momentum: 0.9 });
  });

  it('refuses a grid over the limit, naming the limit and the axes', () => {
    const [issue] = issues({ models: ['lenet5', 'mlp', 'lenet5-reg'], seeds: 10, lr: [0.01, 0.02, 0.05, 0.1] });
    expect(issue).toEqual({
      path: '(grid)',
      message:
        '120 jobs (3 models x 10 seeds x 4 learning rates) is over the limit of ' + `${MAX_SWEEP_JOBS} jobs per sweep`,
    });
  });

  it('names bad fields: unknown model, a duplicated model, a bad base spec, fields the sweep sets', () => {
    expect(issues({ models: ['resnet'], seeds: 1 })[0]!.message).toMatch(/model must be one of/);
    expect(issues({ models: ['mlp', 'mlp'], seeds: 1 })[0]).toEqual({
      path: 'models',
      message: 'a model is listed twice',
    });
    expect(issues({ models: ['mlp'], seeds: 1, base: { epochs: 0 } })[0]!.path).toBe('base.epochs');
    expect(issues({ models: ['mlp'], seeds: 1, base: { seed: 3, model: 'mlp' } })[0]!.path).toBe('base.model');
    expect(issues({ models: ['mlp'], seeds: 0 })[0]!.path).toBe('seeds');
  });
});

describe('sweep state', () => {
  it('is running until every job ends, then succeeded, partial, cancelled or failed', () => {
    expect(sweepState(['queued', 'queued'])).toBe('queued');
    expect(sweepState(['succeeded', 'queued'])).toBe('running');
    expect(sweepState(['parked', 'queued'])).toBe('queued');
    expect(sweepState(['succeeded', 'succeeded'])).toBe('succeeded');
    expect(sweepState(['succeeded', 'failed'])).toBe('partial');
    expect(sweepState(['cancelled', 'failed'])).toBe('cancelled');
    expect(sweepState(['failed'])).toBe('failed');
  });

  it('summarises counts with the jobs oldest first', () => {
    const job = (id: string, state: 'succeeded' | 'running', at: string) =>
      JobRecordSchema.parse({
        id,
        spec: { model: 'mlp', sweepId: 's-x' },
        state,
        createdAt: at,
        updatedAt: at,
        attempt: 0,
      });
    const s = summarizeSweep('s-x', [job('j-2', 'running', '2026-01-02'), job('j-1', 'succeeded', '2026-01-01')]);
    expect(s).toMatchObject({
      id: 's-x',
      state: 'running',
      total: 2,
      createdAt: '2026-01-01',
      counts: { running: 1, succeeded: 1, queued: 0 },
    });
    expect(s.jobs.map((j) => j.id)).toEqual(['j-1', 'j-2']);
  });
});
