import { describe, expect, it } from 'vitest';
import { CLUSTER_ARTIFACTS, FinalEvalSchema, NATS_NAMES, TrainerIdSchema, TrainerInfoSchema } from './index.js';

describe('cluster contract additions', () => {
  it('names the shared task consumer and per-attempt collective subjects', () => {
    expect(NATS_NAMES.tasksConsumer).toBe('trainers');
    expect(NATS_NAMES.collectivePrefix('j1', 3)).toBe('mnist.collective.j1.3');
    expect(NATS_NAMES.trainerInbox('gpu-1')).toBe('mnist.trainer.gpu-1');
  });

  it('keeps trainer ids safe for subjects', () => {
    expect(TrainerIdSchema.safeParse('host-123_a').success).toBe(true);
    for (const bad of ['a.b', 'a b', '', 'x>']) expect(TrainerIdSchema.safeParse(bad).success).toBe(false);
    const info = { id: 'a.b', host: 'h', pid: 1, backend: 'cpu', state: 'idle', startedAt: 'x', lastSeen: 'y' };
    expect(TrainerInfoSchema.safeParse(info).success).toBe(false);
  });

  it('describes final-eval.json', () => {
    const ok = {
      epoch: 2,
      testCount: 256,
      testLoss: 0.3,
      testAcc: 0.9,
      predictionsSha256: 'a'.repeat(64),
      backend: 'wasm',
    };
    expect(FinalEvalSchema.parse(ok)).toEqual(ok);
    expect(FinalEvalSchema.safeParse({ ...ok, predictionsSha256: 'xyz' }).success).toBe(false);
    expect(CLUSTER_ARTIFACTS.finalEval).toBe('final-eval.json');
  });
});
