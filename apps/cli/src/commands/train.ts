import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { MODEL_NAMES, parseJobSpec, type JobSpec } from '@mnist/protocol';
import type { CliEnv } from '../config.js';
import { UsageError } from '../errors.js';
import {
  backendFlag,
  parseFlags,
  SPEC_FLAGS,
  SPEC_FLAGS_HELP,
  specFromInput,
  specInputFromFlags,
  type Values,
} from '../flags.js';
import type { Output } from '../output.js';
import { freshDir, resolveResumeDir, timestamp } from '../local/run-dirs.js';
import { runLocal, type LocalRun } from '../local/run-local.js';

const LOCAL_FLAGS = {
  ...SPEC_FLAGS,
  backend: { type: 'string' },
  out: { type: 'string', short: 'o' },
  resume: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const LOCAL_FLAGS_HELP = `Run flags:
      --backend <name>       auto (default, or MNIST_BACKEND) | tensorflow | onednn | wasm | cpu
  -o, --out <dir>            folder for runs (default RUNS_DIR or ./runs)
      --resume <id|path>     continue a run from its last complete checkpoint
      --json                 one JSON record per epoch on stdout (progress stays on stderr)
  -h, --help                 this help`;

export const TRAIN_HELP = `Usage: mnist train --model <name> [flags]
       mnist train --resume <run-id|path>

Trains one model locally (no servers) into <out>/<timestamp>-<model>/: spec.json,
metrics.jsonl, checkpoints/epoch-NNN/, report.md, curves.png, curves.svg.
Prints the seed-style table as epochs finish.

${SPEC_FLAGS_HELP}

${LOCAL_FLAGS_HELP}`;

/** Seeds per model in one local study: enough for any honest comparison, and a bound on typos. */
const MAX_SEEDS = 50;

export const REPRODUCE_HELP = `Usage: mnist reproduce [--models lenet5,mlp,lenet5-reg] [--seeds K] [flags]
       mnist reproduce --resume <study-id|path>

Runs the whole study: each model trained with the same recipe, then one report that
compares them. Writes <out>/study-<timestamp>/ with a folder per model and report.md,
curves.png, curves.svg for the study.

With --seeds K (K > 1) each model is trained with seeds s, s+1, ..., s+K-1 (s = --seed,
default 1) into <model>/seed-<n>/, and the report gives mean ± std per epoch, curves
with a ± std band, final and best test accuracy with 95% intervals, and Welch's t-test
between each pair of models. --resume finishes the seeds that did not end.

      --models <list>        comma-separated (default: ${MODEL_NAMES.join(',')})
      --seeds <k>            seeds per model (default 1, at most ${MAX_SEEDS})
${SPEC_FLAGS_HELP.split('\n')
  .filter((l) => !l.includes('--model '))
  .join('\n')}

${LOCAL_FLAGS_HELP}`;

const STUDY_JSON = 'study.json';
const SPEC_JSON = 'spec.json';

/** With --resume the run's own spec is the truth: flags that would change it are refused. */
function refuseSpecFlags(values: Values): void {
  const given = Object.keys(SPEC_FLAGS).filter((k) => values[k] !== undefined);
  if (given.length) throw new UsageError(`--resume continues with the run's saved spec; drop --${given.join(', --')}`);
}

function readSpec(file: string): JobSpec {
  try {
    return parseJobSpec(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
}

interface Context {
  env: CliEnv;
  out: Output;
  signal: AbortSignal;
}

/** What `train` and `reproduce` pass on the same way: flags and environment about how to run. */
function runOptions(values: Values, ctx: Context) {
  return {
    resume: values.resume !== undefined,
    backend: backendFlag(values, ctx.env.MNIST_BACKEND),
    datasetDir: ctx.env.MNIST_DIR,
    out: ctx.out,
    signal: ctx.signal,
  };
}

export async function trainCommand(args: string[], ctx: Context): Promise<number> {
  const { values } = parseFlags(args, LOCAL_FLAGS);
  if (values.help) return (ctx.out.result(TRAIN_HELP), 0);
  const root = (values.out as string | undefined) ?? ctx.env.RUNS_DIR;
  let run: LocalRun;
  if (values.resume !== undefined) {
    refuseSpecFlags(values);
    const dir = resolveResumeDir(root, values.resume as string, SPEC_JSON);
    run = { dir, spec: readSpec(join(dir, SPEC_JSON)) };
  } else {
    if (values.model === undefined)
      throw new UsageError(`--model is required (${MODEL_NAMES.join(', ')}); see mnist train --help`);
    const spec = specFromInput(specInputFromFlags(values), values);
    run = { spec, dir: freshDir(root, `${timestamp()}-${spec.model}`) };
  }
  await runLocal({ runs: [run], ...runOptions(values, ctx) });
  return 0;
}

function seedsFlag(raw: string | undefined): number {
  if (raw === undefined) return 1;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 1 || n > MAX_SEEDS)
    throw new UsageError(`--seeds expects a whole number from 1 to ${MAX_SEEDS}, got '${raw}'`);
  return n;
}

export async function reproduceCommand(args: string[], ctx: Context): Promise<number> {
  const { values } = parseFlags(args, { ...LOCAL_FLAGS, models: { type: 'string' }, seeds: { type: 'string' } });
  if (values.help) return (ctx.out.result(REPRODUCE_HELP), 0);
  if (values.model !== undefined) throw new UsageError('reproduce takes --models <list>, not --model');
  const root = (values.out as string | undefined) ?? ctx.env.RUNS_DIR;
  let studyDir: string;
  let models: string[];
  let base: Values = values;
  let seedCount: number;
  if (values.resume !== undefined) {
    refuseSpecFlags(values);
    if (values.models !== undefined || values.seeds !== undefined)
      throw new UsageError("--resume continues with the study's saved models and seeds; drop --models and --seeds");
    studyDir = resolveResumeDir(root, values.resume as string, STUDY_JSON);
    const study = JSON.parse(readFileSync(join(studyDir, STUDY_JSON), 'utf8')) as {
      models: string[];
      flags: Values;
      seeds?: number;
    };
    models = study.models;
    base = study.flags;
    seedCount = study.seeds ?? 1;
  } else {
    seedCount = seedsFlag(values.seeds as string | undefined);
    models = ((values.models as string | undefined) ?? MODEL_NAMES.join(','))
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    if (new Set(models).size !== models.length) throw new UsageError('--models lists a model twice');
    studyDir = freshDir(root, `study-${timestamp()}`);
  }
  const runs = models.flatMap((model) => {
    const spec = specFromInput(specInputFromFlags(base, model), base);
    if (seedCount === 1) return [{ spec, dir: join(studyDir, model) }];
    return Array.from({ length: seedCount }, (_, i) => {
      const seed = spec.seed + i;
      return { spec: specFromInput({ ...spec, seed }), dir: join(studyDir, model, `seed-${seed}`) };
    });
  });
  if (values.resume === undefined) {
    const { FsStore, putJson } = await import('@mnist/storage');
    const flags = Object.fromEntries(
      Object.keys(SPEC_FLAGS)
        .filter((k) => values[k] !== undefined)
        .map((k) => [k, values[k]]),
    );
    await putJson(new FsStore(studyDir), STUDY_JSON, {
      models,
      flags,
      ...(seedCount > 1 && { seeds: seedCount }),
      createdAt: new Date().toISOString(),
    });
  }
  await runLocal({ runs, studyDir, seedStudy: seedCount > 1, ...runOptions(values, ctx) });
  return 0;
}
