import { loadDataset, type Dataset } from '@mnist/data';
import { parseJobSpec, type JobSpec, type JobSpecInput } from '@mnist/protocol';

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
