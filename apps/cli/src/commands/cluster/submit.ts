import { newIdempotencyKey } from '@mnist/client';
import type { JobSpec, JobSpecInput } from '@mnist/protocol';
import { UsageError } from '../../errors.js';
import {
  NAME_FLAGS,
  NAME_FLAGS_HELP,
  parseFlags,
  SPEC_FLAGS,
  SPEC_FLAGS_HELP,
  specFromInput,
  specInputFromFlags,
  type Values,
} from '../../flags.js';
import { API_FLAGS, API_FLAGS_HELP, connectApi, jobIdArg } from './api-client.js';
import type { ClusterContext } from './context.js';
import { readSpecFile } from '../../spec-file.js';
import { replicasLabel, syncLabel } from './format.js';
import { watchJob } from './watch.js';

export const SUBMIT_HELP = `Usage: mnist submit --model <name> [--replicas N] [--watch] [flags]
       mnist submit -f job.yaml [flags]

Submits a training job to the cluster API and prints its id. -f reads the spec from a
YAML or JSON file (the API's JobSpec fields: model, epochs, batchSize, optimizer, sync,
name, tags, ...); flags given as well override the file's fields. With --watch, follows it
and prints the seed-style table as epochs finish (exit code 0 only if it succeeds).
The request carries a fresh Idempotency-Key and is retried with it after a 503 or a
network failure (about 30 s in all), so a retry never makes a second job.

${SPEC_FLAGS_HELP}

${NAME_FLAGS_HELP}

Cluster flags:
      --replicas <n|min:max> trainers that train it together, data-parallel (default 1);
                             a range min:max makes it elastic: it starts with at least min
                             free trainers, grows onto free ones up to max at epoch ends,
                             goes on with the rest (down to min) when one is lost, and gives
                             trainers back to a queued job (not with --batch-per-replica)
      --min-replicas <n>     the same as the range's min (--replicas <min>:<n>)
      --sync <mode>          step (default: the replicas sum gradients every step and follow
                             one trainer), or local:H[:nesterov|average] (local SGD: each
                             replica takes H steps alone, then they average; for slow links)
      --collective <algo>    auto (default), direct or reduce-scatter: how the ranks split the sum
      --transport <t>        auto (default: direct TCP between the trainers, NATS if they
                             cannot reach each other), tcp (fail instead) or nats
      --batch-per-replica <n>  weak scaling: each replica takes n a step, the global batch is
                             n x replicas (--batch-size is then not used), and the learning
                             rate grows with it (below)
      --lr-scaling <rule>    with --batch-per-replica: linear (default: lr x replicas, reached
                             by a linear warmup) or none
      --warmup-epochs <x>    epochs of that warmup (default 1; 0 for none)
  -f, --file <path>          the spec from a .yaml, .yml or .json file
  -w, --watch                follow the job until it ends
      --json                 print the job record as JSON (with --watch, then one JSON line per epoch)
${API_FLAGS_HELP}
  -h, --help                 this help`;

export const RESUBMIT_HELP = `Usage: mnist resubmit <job-id> [flags]

Submits a new job with the spec of an earlier one (any job: finished, failed, cancelled).
Flags change fields of it, as in mnist submit: e.g. --seed 2, --epochs 20, --name again.
The new job is not part of the old one's sweep. Takes submit's flags (not -f) and --watch.

${API_FLAGS_HELP}`;

export const WATCH_HELP = `Usage: mnist watch <job-id> [--json]

Follows a job live: status changes and a progress bar on stderr, the seed-style table
(or, with --json, one JSON line per epoch) on stdout. Exit code 0 only if the job succeeds.
A dropped connection is resumed where it stopped (Last-Event-ID).

${API_FLAGS_HELP}`;

/** `step`, or `local:H` with an optional `:nesterov` / `:average` outer step. */
function syncFlag(raw: string): JobSpecInput['sync'] {
  if (raw === 'step') return 'step';
  const m = /^local:(\d+)(?::(nesterov|average))?$/.exec(raw);
  if (!m) throw new UsageError(`--sync expects step or local:H[:nesterov|average], got '${raw}'`);
  return { every: Number(m[1]), ...(m[2] && { outer: m[2] as 'nesterov' | 'average' }) };
}

/** --batch-per-replica, --lr-scaling, --warmup-epochs: spec.scaling (weak scaling). */
function scalingFlags(values: Values): Pick<JobSpecInput, 'scaling'> {
  const batchPerReplica = countFlag(values, 'batch-per-replica');
  const warmupEpochs = countFlag(values, 'warmup-epochs');
  const lr = values['lr-scaling'] as 'linear' | 'none' | undefined;
  if (batchPerReplica === undefined) {
    if (lr !== undefined || warmupEpochs !== undefined)
      throw new UsageError('--lr-scaling and --warmup-epochs go with --batch-per-replica');
    return {};
  }
  if (lr !== undefined && lr !== 'linear' && lr !== 'none')
    throw new UsageError(`--lr-scaling expects linear or none, got '${lr}'`);
  return { scaling: { batchPerReplica, ...(lr && { lr }), ...(warmupEpochs !== undefined && { warmupEpochs }) } };
}

/** --replicas N, or a range MIN:MAX (with --min-replicas as the older spelling of MIN). */
function replicasFlags(values: Values): Pick<JobSpecInput, 'replicas' | 'minReplicas'> {
  const raw = values.replicas as string | undefined;
  const range = raw === undefined ? undefined : /^(\d+):(\d+)$/.exec(raw.trim());
  const minReplicas = countFlag(values, 'min-replicas');
  if (!range) {
    const replicas = countFlag(values, 'replicas');
    return { ...(replicas !== undefined && { replicas }), ...(minReplicas !== undefined && { minReplicas }) };
  }
  if (minReplicas !== undefined) throw new UsageError('--replicas min:max and --min-replicas: give the range once');
  return { minReplicas: Number(range[1]), replicas: Number(range[2]) };
}

function countFlag(values: Values, name: string): number | undefined {
  const raw = values[name] as string | undefined;
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got '${raw}'`);
  return n;
}

/** Follows to the end; exit code 0 only for a job that succeeded. */
async function follow(id: string, values: Values, ctx: ClusterContext): Promise<number> {
  const api = connectApi(values, ctx);
  const final = await watchJob({ api, id, out: ctx.out, signal: ctx.signal });
  const took =
    final.startedAt && final.finishedAt
      ? ` in ${((Date.parse(final.finishedAt) - Date.parse(final.startedAt)) / 1000).toFixed(1)} s`
      : '';
  ctx.out.info(
    final.state === 'succeeded'
      ? `job ${id} succeeded${took}; report: mnist report ${id}`
      : `job ${id} ${final.state}${final.message ? `: ${final.message}` : ''}`,
  );
  return final.state === 'succeeded' ? 0 : 1;
}

const SUBMIT_FLAGS = {
  ...SPEC_FLAGS,
  ...API_FLAGS,
  ...NAME_FLAGS,
  file: { type: 'string', short: 'f' },
  replicas: { type: 'string', short: 'r' },
  'min-replicas': { type: 'string' },
  sync: { type: 'string' },
  collective: { type: 'string' },
  transport: { type: 'string' },
  'batch-per-replica': { type: 'string' },
  'lr-scaling': { type: 'string' },
  'warmup-epochs': { type: 'string' },
  watch: { type: 'boolean', short: 'w' },
  json: { type: 'boolean' },
} as const;

/** The spec fields the flags set (the rest come from `base`: a spec file, or the job resubmitted). */
function specFromFlags(values: Values, base: Record<string, unknown> = {}): JobSpec {
  const fromFlags = specInputFromFlags(values);
  // Checked here first, so a mistake names the flag (or the file's field); the API checks the same schema again.
  return specFromInput(
    {
      ...base,
      ...fromFlags,
      // --lr or --momentum alone changes the base's optimizer, not replaces it.
      ...(fromFlags.optimizer &&
        typeof base.optimizer === 'object' &&
        values.optimizer === undefined && { optimizer: { ...base.optimizer, ...fromFlags.optimizer } }),
      ...replicasFlags(values),
      ...(values.sync !== undefined && { sync: syncFlag(values.sync as string) }),
      ...(values.collective !== undefined && { collective: values.collective as JobSpecInput['collective'] }),
      ...(values.transport !== undefined && { transport: values.transport as JobSpecInput['transport'] }),
      ...scalingFlags(values),
    } as Partial<JobSpecInput>,
    values,
  );
}

/** POSTs the spec under a fresh Idempotency-Key (retried with it), prints the id, follows with --watch. */
async function submitSpec(spec: JobSpec, values: Values, ctx: ClusterContext): Promise<number> {
  const api = connectApi(values, ctx);
  const headers = { 'Idempotency-Key': newIdempotencyKey() };
  const onRetry = (why: string, ms: number) =>
    ctx.out.info(`submit: ${why}; trying again in ${ms / 1000} s (same Idempotency-Key)`);
  const job = await (
    await api.callRetrying(() => api.client.v1.jobs.$post({ json: spec }, { headers }), { onRetry })
  ).json();
  if (ctx.out.json) ctx.out.result(JSON.stringify(job));
  else if (!values.watch) ctx.out.result(job.id);
  const named = spec.name ? ` '${spec.name}'` : '';
  const what = `${spec.model}, ${spec.epochs} epochs, ${replicasLabel(spec)} replica(s), sync ${syncLabel(spec)}`;
  const hint = values.watch ? '' : `; follow it with: mnist watch ${job.id}`;
  ctx.out.info(`submitted ${job.id}${named}: ${what}${hint}`);
  // Accepted but not runnable now: say so plainly, or a script would think it is on its way.
  if (job.state === 'parked')
    ctx.out.info(
      `job ${job.id} is PARKED, not running: ${job.message ?? 'the fleet is too small for it'}; ` +
        `it starts when enough trainers are live (mnist cancel ${job.id} drops it)`,
    );
  return values.watch ? follow(job.id, values, ctx) : 0;
}

export async function submitCommand(args: string[], ctx: ClusterContext): Promise<number> {
  const { values } = parseFlags(args, SUBMIT_FLAGS);
  if (values.help) return (ctx.out.result(SUBMIT_HELP), 0);
  const file = values.file === undefined ? undefined : await readSpecFile(values.file as string);
  if (values.model === undefined && file?.model === undefined)
    throw new UsageError('--model is required (lenet5, mlp, lenet5-reg), or -f <spec file>; see mnist submit --help');
  return submitSpec(specFromFlags(values, file), values, ctx);
}

export async function resubmitCommand(args: string[], ctx: ClusterContext): Promise<number> {
  const { file: _file, ...flags } = SUBMIT_FLAGS;
  const { values, positionals } = parseFlags(args, flags, true);
  if (values.help) return (ctx.out.result(RESUBMIT_HELP), 0);
  if (positionals.length > 1) throw new UsageError('mnist resubmit takes one job id');
  const id = jobIdArg(positionals[0], 'resubmit');
  const api = connectApi(values, ctx);
  const old = await (await api.callRetrying(() => api.client.v1.jobs[':id'].$get({ param: { id } }))).json();
  // A new job on its own: not a member of the old one's sweep.
  const { sweepId: _, ...base } = old.spec;
  ctx.out.info(`resubmitting the spec of ${id}`);
  return submitSpec(specFromFlags(values, base), values, ctx);
}

export async function watchCommand(args: string[], ctx: ClusterContext): Promise<number> {
  const { values, positionals } = parseFlags(args, { ...API_FLAGS, json: { type: 'boolean' } }, true);
  if (values.help) return (ctx.out.result(WATCH_HELP), 0);
  if (positionals.length > 1) throw new UsageError('mnist watch takes one job id');
  return follow(jobIdArg(positionals[0], 'watch'), values, ctx);
}
