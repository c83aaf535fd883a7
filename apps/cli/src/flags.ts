import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  BACKEND_CHOICES,
  InvalidJobSpecError,
  isBackendChoice,
  parseJobSpec,
  type BackendChoice,
  type JobSpec,
  type JobSpecInput,
} from '@mnist/protocol';

import { didYouMean } from './did-you-mean.js';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags that describe what to train; `train`, `reproduce` and `submit` share them. */
export const SPEC_FLAGS = {
  model: { type: 'string', short: 'm' },
  dataset: { type: 'string' },
  epochs: { type: 'string', short: 'e' },
  'batch-size': { type: 'string', short: 'b' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  momentum: { type: 'string' },
  seed: { type: 'string' },
  'train-limit': { type: 'string' },
  'test-limit': { type: 'string' },
  'checkpoint-every': { type: 'string' },
} as const satisfies Options;

export const SPEC_FLAGS_HELP = `Training flags (defaults = the seed study's recipe):
  -m, --model <name>         lenet5 | mlp | lenet5-reg
      --dataset <name>       mnist (default) | fashion-mnist
  -e, --epochs <n>           epochs (default 10)
  -b, --batch-size <n>       global batch size (default 64)
      --optimizer <name>     sgd (default) | adam
      --lr <x>               learning rate (default 0.01 for sgd, 0.001 for adam)
      --momentum <x>         SGD momentum (default 0.9)
      --seed <n>             seed for initialisation, shuffling and dropout (default 1)
      --train-limit <n>      train on the first n training images only
      --test-limit <n>       evaluate on the first n test images only
      --checkpoint-every <n> checkpoint every n epochs (default 1; the last epoch always)`;

/** How a run is found again (submit, sweep): kept in the spec, ignored by the trainers. */
export const NAME_FLAGS = {
  name: { type: 'string' },
  tag: { type: 'string', multiple: true },
  note: { type: 'string' },
} as const satisfies Options;

export const NAME_FLAGS_HELP = `Naming flags (for 'mnist jobs --tag' and the runs page):
      --name <text>          a name for the run (up to 100 characters)
      --tag <key=value>      a tag; repeat for more (up to 20)
      --note <text>          a free note (up to 1000 characters)`;

export type Values = Record<string, string | boolean | string[] | undefined>;

/** `--tag k=v` (repeatable) as a record; a tag without '=' names the flag and the value. */
export function tagsFlag(raw: Values[string]): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  const tags: Record<string, string> = {};
  for (const t of Array.isArray(raw) ? raw : [String(raw)]) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag '${t}': expects key=value (e.g. --tag team=vision)`);
    tags[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return tags;
}

export function parseFlags(
  args: string[],
  options: Options,
  allowPositionals = false,
): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals,
    });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (err) {
    const e = err as Error & { code?: string };
    // node's wording is long and generic: name the flag, and the one it probably meant.
    const unknown = /^Unknown option '([^']+)'/.exec(e.message)?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) {
      const names = Object.keys(options).map((n) => `--${n}`);
      throw new UsageError(`unknown flag '${unknown}'${didYouMean(unknown.split('=')[0]!, [...names, '--help'])}`);
    }
    throw new UsageError(e.message);
  }
}

function numberFlag(values: Values, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n)) {
    throw new UsageError(`--${name} expects a number, got '${String(raw)}'`);
  }
  return n;
}

/** The spec fields set by flags (undefined ones left out, so schema defaults apply). */
export function specInputFromFlags(values: Values, model?: string): Partial<JobSpecInput> {
  const optimizerType = (values.optimizer as string | undefined) ?? 'sgd';
  const lr = numberFlag(values, 'lr');
  const momentum = numberFlag(values, 'momentum');
  if (momentum !== undefined && optimizerType !== 'sgd')
    throw new UsageError('--momentum applies to --optimizer sgd only');
  const optimizer =
    values.optimizer === undefined && lr === undefined && momentum === undefined
      ? undefined
      : { type: optimizerType, ...(lr !== undefined && { lr }), ...(momentum !== undefined && { momentum }) };
  const input: Record<string, unknown> = {
    model: model ?? values.model,
    dataset: values.dataset,
    epochs: numberFlag(values, 'epochs'),
    batchSize: numberFlag(values, 'batch-size'),
    optimizer,
    seed: numberFlag(values, 'seed'),
    trainLimit: numberFlag(values, 'train-limit'),
    testLimit: numberFlag(values, 'test-limit'),
    checkpointEvery: numberFlag(values, 'checkpoint-every'),
    name: values.name,
    tags: tagsFlag(values.tag),
    note: values.note,
  };
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<JobSpecInput>;
}

/** The flag that sets each spec field (sweep fields too); a nested path maps through its first part. */
const FLAG_OF_FIELD: Record<string, string> = {
  model: 'model',
  models: 'models',
  dataset: 'dataset',
  epochs: 'epochs',
  batchSize: 'batch-size',
  'optimizer.type': 'optimizer',
  'optimizer.lr': 'lr',
  lr: 'lr',
  'optimizer.momentum': 'momentum',
  seed: 'seed',
  seeds: 'seeds',
  trainLimit: 'train-limit',
  testLimit: 'test-limit',
  checkpointEvery: 'checkpoint-every',
  replicas: 'replicas',
  minReplicas: 'min-replicas',
  sync: 'sync',
  collective: 'collective',
  name: 'name',
  tags: 'tag',
  note: 'note',
  transport: 'transport',
  'scaling.batchPerReplica': 'batch-per-replica',
  'scaling.lr': 'lr-scaling',
  'scaling.warmupEpochs': 'warmup-epochs',
};

/**
 * One schema issue in the user's words: the flag and the value given, not the JSON path
 * (`--sync 'local:0': every: Too small...`, not `sync.every: Too small...`). A path with no
 * flag (a spec file's field) is kept as it is.
 */
export function flagIssue(issue: { path: string; message: string }, values: Values = {}): string {
  const parts = issue.path.split('.').filter((p) => p !== 'base');
  // A field that came from a spec file (-f) and not from a flag is named as the file's field.
  const file = typeof values.file === 'string' ? values.file : undefined;
  for (let n = parts.length; n > 0; n--) {
    const flag = FLAG_OF_FIELD[parts.slice(0, n).join('.')];
    if (flag === undefined) continue;
    if (file !== undefined && values[flag] === undefined) break;
    const raw = values[flag];
    const rest = parts
      .slice(n)
      .filter((p) => !/^\d+$/.test(p))
      .join('.');
    const value = typeof raw === 'string' ? ` '${raw}'` : Array.isArray(raw) ? ` '${raw.join("' '")}'` : '';
    return `--${flag}${value}: ${rest ? `${rest}: ` : ''}${issue.message}`;
  }
  return `${file !== undefined ? `-f '${file}': ` : ''}${issue.path}: ${issue.message}`;
}

/** Validates through the shared JobSpec schema, naming flags (and the values given) rather than JSON fields. */
export function specFromInput(input: Partial<JobSpecInput>, values: Values = {}): JobSpec {
  try {
    return parseJobSpec(input);
  } catch (err) {
    if (!(err instanceof InvalidJobSpecError)) throw err;
    throw new UsageError(err.issues.map((i) => flagIssue(i, values)).join('; '));
  }
}

export function backendFlag(values: Values, fallback: BackendChoice): BackendChoice {
  const raw = values.backend;
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !isBackendChoice(raw)) {
    throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(', ')}; got '${String(raw)}'`);
  }
  return raw;
}
