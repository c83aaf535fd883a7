import { describe, expect, it } from 'vitest';
import {
  artifactKeys,
  attemptPrefix,
  checkpointEpoch,
  jobMetricsKeys,
  globalBatchSize,
  InvalidJobSpecError,
  JobEventSchema,
  JobIdSchema,
  NATS_NAMES,
  parseJobSpec,
  parseMetricsJsonl,
  toMetricsJsonl,
} from './index.js';

const issuesOf = (input: unknown) => {
  try {
    parseJobSpec(input);
  } catch (err) {
    if (err instanceof InvalidJobSpecError) return err.issues;
    throw err;
  }
  throw new Error('expected the spec to be rejected');
};

describe('JobSpec', () => {
  it('accepts local SGD with its outer defaults, and refuses a malformed sync', () => {
    expect(parseJobSpec({ model: 'mlp', sync: { every: 16 } }).sync).toEqual({
      every: 16,
      outer: 'nesterov',
      outerLr: 1,
      outerMomentum: 0.5,
    });
    expect(() => parseJobSpec({ model: 'mlp', sync: { every: 0 } })).toThrow(/sync/);
    expect(() => parseJobSpec({ model: 'mlp', sync: 'sometimes' })).toThrow(/sync must be 'step'/);
    expect(() => parseJobSpec({ model: 'mlp', collective: 'ring' })).toThrow(/collective must be one of/);
  });

  it('takes a name, tags and a note, and names what is wrong with them', () => {
    const spec = parseJobSpec({
      model: 'mlp',
      name: 'baseline mlp',
      tags: { team: 'vision', 'exp.v2': 'lr-sweep' },
      note: 'first try',
    });
    expect(spec).toMatchObject({
      name: 'baseline mlp',
      tags: { team: 'vision', 'exp.v2': 'lr-sweep' },
      note: 'first try',
    });
    expect(issuesOf({ model: 'mlp', name: '' })[0]!.path).toBe('name');
    expect(issuesOf({ model: 'mlp', name: 'a\nb' })[0]!.message).toBe('name must be printable text on one line');
    expect(issuesOf({ model: 'mlp', name: 'x'.repeat(101) })[0]!.path).toBe('name');
    expect(issuesOf({ model: 'mlp', tags: { 'a b': 'x' } })[0]!.message).toMatch(/tag keys are 1-40/);
    expect(issuesOf({ model: 'mlp', tags: { k: 'v'.repeat(101) } })[0]!.path).toBe('tags.k');
    expect(
      issuesOf({ model: 'mlp', tags: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) })[0]!
        .message,
    ).toBe('at most 20 tags');
    expect(issuesOf({ model: 'mlp', note: 'n'.repeat(1001) })[0]!.path).toBe('note');
  });

  it("fills the seed recipe's defaults", () => {
    expect(parseJobSpec({ model: 'lenet5' })).toEqual({
      model: 'lenet5',
      dataset: 'mnist',
      epochs: 10,
      batchSize: 64,
      optimizer: { type: 'sgd', lr: 0.01, momentum: 0.9 },
      seed: 1,
      replicas: 1,
      checkpointEvery: 1,
      sync: 'step',
      collective: 'auto',
      transport: 'auto',
    });
    expect(parseJobSpec({ model: 'mlp', optimizer: { type: 'adam' } }).optimizer).toEqual({
      type: 'adam',
      lr: 0.001,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
    });
  });

  it('names each bad field', () => {
    expect(issuesOf({ model: 'resnet' })).toEqual([
      { path: 'model', message: 'model must be one of lenet5, mlp, lenet5-reg' },
    ]);
    expect(issuesOf({ model: 'mlp', epochs: 0 })[0]!.path).toBe('epochs');
    expect(issuesOf({ model: 'mlp', batchSize: 1.5 })[0]!.path).toBe('batchSize');
    expect(issuesOf({ model: 'mlp', trainLimit: 60_001 })[0]!.path).toBe('trainLimit');
    expect(issuesOf({ model: 'mlp', optimizer: { type: 'rmsprop' } })[0]!.path).toBe('optimizer.type');
    expect(issuesOf({ model: 'mlp', optimizer: { type: 'sgd', lr: -1 } })[0]!.path).toBe('optimizer.lr');
    expect(issuesOf({ model: 'mlp', replicas: 2, minReplicas: 3 })[0]!.path).toBe('minReplicas');
    expect(issuesOf({ model: 'mlp', replicas: 4, batchSize: 2 })[0]!.path).toBe('batchSize');
    // A replica range keeps one global batch: no weak scaling.
    const weak = { model: 'mlp', replicas: 2, minReplicas: 1, scaling: { batchPerReplica: 32 } };
    expect(issuesOf(weak)[0]).toMatchObject({ path: 'minReplicas', message: expect.stringMatching(/replica range/) });
    expect(parseJobSpec({ model: 'mlp', replicas: 2, minReplicas: 1, sync: { every: 4 } }).minReplicas).toBe(1);
    expect(issuesOf('lenet5')[0]!.path).toBe('(root)');
  });

  it('rejects unknown keys instead of ignoring them', () => {
    expect(issuesOf({ model: 'mlp', epoch: 3 })[0]!.message).toMatch(/epoch/);
    expect(issuesOf({ model: 'mlp', optimizer: { type: 'adam', momentum: 0.9 } })[0]!.message).toMatch(/momentum/);
  });
});

describe('metrics.jsonl', () => {
  const rec = {
    epoch: 1,
    trainLoss: 0.3,
    trainAcc: 0.9,
    testLoss: 0.06,
    testAcc: 0.98,
    seconds: 5,
    imagesPerSec: 12000,
    backend: 'cpu',
  };
  it('round-trips and reports the bad line', () => {
    expect(parseMetricsJsonl(toMetricsJsonl([rec, { ...rec, epoch: 2 }]))).toHaveLength(2);
    expect(() => parseMetricsJsonl(`${JSON.stringify(rec)}\n{oops`)).toThrow(/metrics\.jsonl:2: not JSON/);
    expect(() => parseMetricsJsonl(JSON.stringify({ ...rec, testAcc: 98 }))).toThrow(/:1: testAcc/);
  });
});

describe('names and layout', () => {
  it('pads checkpoint folders and parses them back', () => {
    expect(artifactKeys.checkpoint(7)).toBe('checkpoints/epoch-007/');
    expect(checkpointEpoch('checkpoints/epoch-007/')).toBe(7);
    expect(checkpointEpoch('checkpoints/epoch-1234/')).toBe(1234);
    expect(checkpointEpoch('checkpoints/latest/')).toBeUndefined();
  });

  it("reads a cluster job's metrics from its attempt's folder first, then earlier attempts, then the root", () => {
    expect(attemptPrefix(2)).toBe('attempts/002/');
    expect(jobMetricsKeys({ id: 'j', attempt: 2 })).toEqual([
      'jobs/j/attempts/002/metrics.jsonl',
      'jobs/j/attempts/001/metrics.jsonl',
      'jobs/j/metrics.jsonl',
    ]);
    expect(jobMetricsKeys({ id: 'j', attempt: 0 })).toEqual(['jobs/j/metrics.jsonl']);
  });

  it('keeps job ids safe for subjects and keys', () => {
    expect(JobIdSchema.safeParse('j-01_ab').success).toBe(true);
    for (const bad of ['a.b', 'a b', '../x', '', 'a*']) expect(JobIdSchema.safeParse(bad).success).toBe(false);
    expect(NATS_NAMES.eventsSubject('j1')).toBe('mnist.events.j1');
  });

  it('validates events by type', () => {
    expect(
      JobEventSchema.safeParse({ type: 'status', jobId: 'j', state: 'running', attempt: 1, at: 'now' }).success,
    ).toBe(true);
    expect(
      JobEventSchema.safeParse({ type: 'status', jobId: 'j', state: 'paused', attempt: 1, at: 'now' }).success,
    ).toBe(false);
  });
});

describe('weak scaling and the transport', () => {
  it('takes a batch per replica (the global batch grows with the group) and checks the transport', () => {
    const s = parseJobSpec({ model: 'lenet5', replicas: 2, scaling: { batchPerReplica: 64 } });
    expect(s.scaling).toEqual({ batchPerReplica: 64, lr: 'linear', warmupEpochs: 1 });
    expect(globalBatchSize(s, 2)).toBe(128);
    expect(globalBatchSize(s, 4)).toBe(256);
    expect(globalBatchSize(parseJobSpec({ model: 'lenet5', batchSize: 32 }), 4)).toBe(32);
    expect(() => parseJobSpec({ model: 'lenet5', scaling: { batchPerReplica: 0 } })).toThrow(InvalidJobSpecError);
    expect(() => parseJobSpec({ model: 'lenet5', scaling: { batchPerReplica: 8, lr: 'sqrt' } })).toThrow(/scaling.lr/);
    expect(() => parseJobSpec({ model: 'lenet5', transport: 'udp' })).toThrow(
      /transport must be one of auto, tcp, nats/,
    );
  });
});
