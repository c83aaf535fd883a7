import { getModel } from '@mnist/models';
import { loadDataset, type Dataset } from '@mnist/data';
import { parseJobSpec, type JobSpecInput } from '@mnist/protocol';
import { createInProcessGroup, createOptimizer, runEpochs } from '../src/index.js';
import { selectBackend } from '@mnist/backends';

/**
 * `npm run bench:sync`: the accuracy side of the sync and scaling modes. The replicas run in
 * one process (accuracy does not depend on the transport) on full MNIST; prints the final
 * test accuracy and loss of each run as JSON.
 *
 * SYNC_PLAN=sync (default): 2 replicas at global batch 64, step sync against local SGD
 * every H steps (SYNC_EVERY, default 8,16,32,128), SYNC_EPOCHS (default 2).
 * SYNC_PLAN=scaling: weak scaling at 64 per replica (global 64 x N, linear rate rule with a
 * one-epoch warmup, and without the rule) for N = 1, 2, 4 against the seed recipe (one
 * trainer, batch 64, lr 0.01), SYNC_EPOCHS (default 10); SYNC_UNSCALED=1 adds the same
 * groups at the spec's rate.
 * SYNC_MODEL (default lenet5).
 */
const MODEL = (process.env.SYNC_MODEL ?? 'lenet5') as JobSpecInput['model'];
const PLAN = process.env.SYNC_PLAN === 'scaling' ? 'scaling' : 'sync';
const EPOCHS = Number(process.env.SYNC_EPOCHS ?? (PLAN === 'scaling' ? 10 : 2));
const EVERY = (process.env.SYNC_EVERY ?? '8,16,32,128').split(',').map(Number);

interface Run {
  label: string;
  replicas: number;
  spec: JobSpecInput;
}

function plan(): Run[] {
  const base = { model: MODEL, epochs: EPOCHS };
  if (PLAN === 'sync') {
    const modes: JobSpecInput['sync'][] = [
      'step',
      ...EVERY.flatMap((every) => [
        { every, outer: 'nesterov' as const },
        { every, outer: 'average' as const },
      ]),
    ];
    return modes.map((sync) => ({ label: JSON.stringify(sync), replicas: 2, spec: { ...base, replicas: 2, sync } }));
  }
  const runs: Run[] = [{ label: 'seed recipe: 1 replica, batch 64, lr 0.01', replicas: 1, spec: base }];
  for (const n of [2, 4]) {
    runs.push({
      label: `${n} replicas x 64 (global ${64 * n}), lr x${n} after a 1-epoch warmup`,
      replicas: n,
      spec: { ...base, replicas: n, scaling: { batchPerReplica: 64 } },
    });
    if (process.env.SYNC_UNSCALED === '1') {
      runs.push({
        label: `${n} replicas x 64 (global ${64 * n}), lr 0.01 (no scaling rule)`,
        replicas: n,
        spec: { ...base, replicas: n, scaling: { batchPerReplica: 64, lr: 'none' } },
      });
    }
  }
  return runs;
}

async function train(run: Run, data: Dataset, backend: string) {
  const spec = parseJobSpec(run.spec);
  const [records] = await Promise.all(
    createInProcessGroup(run.replicas).map(async (collective) => {
      const model = getModel(spec.model).build(spec.seed);
      const r = await runEpochs({
        spec,
        data,
        model,
        optimizer: createOptimizer(spec.optimizer),
        collective,
        backend,
        startEpoch: 1,
        startStep: 0,
      });
      model.dispose();
      return r;
    }),
  );
  return records!;
}

async function main(): Promise<void> {
  const backend = (await selectBackend('auto')).name;
  const data = await loadDataset({ name: 'mnist' });
  const results = [];
  for (const run of plan()) {
    const t0 = performance.now();
    const records = await train(run, data, backend);
    const last = records.at(-1)!;
    const best = Math.max(...records.map((r) => r.testAcc));
    const row = {
      run: run.label,
      testAcc: last.testAcc,
      bestTestAcc: best,
      testLoss: Number(last.testLoss.toFixed(4)),
      trainLoss: Number(last.trainLoss.toFixed(4)),
      perEpochTestAcc: records.map((r) => r.testAcc),
    };
    results.push(row);
    process.stderr.write(`${JSON.stringify(row)} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  process.stdout.write(
    JSON.stringify({ bench: `sync-accuracy (${PLAN})`, backend, model: MODEL, epochs: EPOCHS, results }, null, 2) +
      '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:sync: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
