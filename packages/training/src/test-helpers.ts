import { loadDataset, type Dataset } from '@mnist/data';
import { getModel } from '@mnist/models';
import { parseJobSpec, type JobSpec, type JobSpecInput } from '@mnist/protocol';
import type { Collective } from './collective.js';
import { createOptimizer } from './optimizer.js';
import { runEpochs } from './train-loop.js';

const cache = new Map<string, Promise<Dataset>>();

/** Real MNIST subsets, loaded once per test file. */
export function mnistSubset(trainLimit: number, testLimit: number): Promise<Dataset> {
  const key = `${trainLimit}/${testLimit}`;
  let p = cache.get(key);
  if (!p) cache.set(key, (p = loadDataset({ name: 'mnist', trainLimit, testLimit })));
  return p;
}

export function spec(input: Partial<JobSpecInput> & { model: JobSpecInput['model'] }): JobSpec {
  return parseJobSpec(input);
}

/** Trains one replica per collective and returns each rank's records and final weights. */
export async function trainGroup(
  backend: string,
  collectives: Collective[],
  input: JobSpecInput,
  trainLimit: number,
  testLimit: number,
) {
  const data = await mnistSubset(trainLimit, testLimit);
  const s = spec(input);
  return Promise.all(
    collectives.map(async (collective) => {
      const model = getModel(s.model).build(s.seed);
      const records = await runEpochs({
        spec: s,
        data,
        model,
        optimizer: createOptimizer(s.optimizer),
        collective,
        backend,
        startEpoch: 1,
        startStep: 0,
      });
      const weights = model.getWeights().flatMap((w) => Array.from(w.dataSync()));
      model.dispose();
      return { records, weights };
    }),
  );
}
