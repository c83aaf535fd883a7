import type { JobSpec } from '@mnist/protocol';

/** One compared run: its title, its spec, and the backend it ran on (when known). */
export interface RecipeOf {
  title: string;
  spec: JobSpec;
  backend?: string;
}

const sync = (s: JobSpec['sync']) => (s === 'step' ? 'step' : `local SGD every ${s.every} steps (${s.outer})`);
const limit = (n: number | undefined) => (n === undefined ? 'all' : String(n));

/** The recipe fields a comparison must not hide, as people name them. The model is what is compared. */
const FIELDS: ReadonlyArray<[string, (r: RecipeOf) => string]> = [
  ['dataset', (r) => r.spec.dataset],
  ['training images', (r) => limit(r.spec.trainLimit)],
  ['test images', (r) => limit(r.spec.testLimit)],
  ['epochs', (r) => String(r.spec.epochs)],
  ['batch size', (r) => String(r.spec.batchSize)],
  ['optimizer', (r) => r.spec.optimizer.type],
  ['learning rate', (r) => String(r.spec.optimizer.lr)],
  ['momentum', (r) => (r.spec.optimizer.type === 'sgd' ? String(r.spec.optimizer.momentum) : '-')],
  ['seed', (r) => String(r.spec.seed)],
  ['replicas', (r) => String(r.spec.replicas)],
  ['sync', (r) => sync(r.spec.sync)],
  ['backend', (r) => r.backend ?? 'unknown'],
];

/**
 * Every recipe field in which the runs differ, one line each, naming each run's value:
 * `training images: all (LeNet5), 2048 (CustomMLP)`. Empty when only the models differ.
 */
export function recipeDifferences(runs: readonly RecipeOf[]): string[] {
  if (runs.length < 2) return [];
  return FIELDS.flatMap(([name, value]) => {
    const values = runs.map(value);
    if (new Set(values).size === 1) return [];
    return [`${name}: ${runs.map((r, i) => `${values[i]} (${r.title})`).join(', ')}`];
  });
}
