import { getModel } from '@mnist/models';
import { loadDataset } from '@mnist/data';
import { parseJobSpec, type JobSpecInput } from '@mnist/protocol';
import { createInProcessGroup, createOptimizer, runEpochs } from '../src/index.js';
import { selectBackend } from '@mnist/backends';

/**
 * `npm run bench:sync`: the accuracy side of the sync modes. Two replicas (in one process:
 * accuracy does not depend on the transport) train the same job with step sync and with
 * local SGD every H steps, on full MNIST; prints the final test accuracy and loss of each
 * as JSON. SYNC_MODEL (default lenet5), SYNC_EPOCHS (default 2), SYNC_EVERY (default 8,16,32,128).
 */
const MODEL = (process.env.SYNC_MODEL ?? 'lenet5') as JobSpecInput['model'];
const EPOCHS = Number(process.env.SYNC_EPOCHS ?? 2);
const EVERY = (process.env.SYNC_EVERY ?? '8,16,32,128').split(',').map(Number);

async function main(): Promise<void> {
  const backend = (await selectBackend('auto')).name;
  const data = await loadDataset({ name: 'mnist' });
  const modes: JobSpecInput['sync'][] = ['step', ...EVERY.flatMap((every) => [{ every, outer: 'nesterov' as const }, { every, outer: 'average' as const }])];
  const results = [];
  for (const sync of modes) {
    const spec = parseJobSpec({ model: MODEL, epochs: EPOCHS, replicas: 2, sync });
    const t0 = performance.now();
    const [records] = await Promise.all(
      createInProcessGroup(2).map(async (collective) => {
        const model = getModel(spec.model).build(spec.seed);
        const r = await runEpochs({ spec, data, model, optimizer: createOptimizer(spec.optimizer), collective, backend, startEpoch: 1, startStep: 0 });
        model.dispose();
        return r;
      }),
    );
    const last = records!.at(-1)!;
    const row = { sync: spec.sync, testAcc: last.testAcc, testLoss: Number(last.testLoss.toFixed(4)), trainLoss: Number(last.trainLoss.toFixed(4)), perEpochTestAcc: records!.map((r) => r.testAcc) };
    results.push(row);
    process.stderr.write(`${JSON.stringify(row)} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  process.stdout.write(JSON.stringify({ bench: 'sync-accuracy', backend, model: MODEL, epochs: EPOCHS, replicas: 2, batchSize: 64, results }, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:sync: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
