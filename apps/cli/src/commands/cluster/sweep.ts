import {
  expandSweep,
  InvalidSweepError,
  isFinalState,
  MAX_SWEEP_JOBS,
  SweepIdSchema,
  type SweepRequest,
  type SweepSummary,
} from '@mnist/protocol';
import { sleep } from '@mnist/core';
import { UsageError } from '../../errors.js';
import { readSpecFile } from '../../spec-file.js';
import {
  flagIssue,
  NAME_FLAGS,
  NAME_FLAGS_HELP,
  parseFlags,
  SPEC_FLAGS,
  SPEC_FLAGS_HELP,
  specInputFromFlags,
  type Values,
} from '../../flags.js';
import { API_FLAGS, API_FLAGS_HELP, connectApi, type Api } from './api-client.js';
import type { ClusterContext } from './context.js';
import { ago, textTable } from './format.js';

export const SWEEP_HELP = `Usage: mnist sweep --models <list> --seeds <n> [--lr <list>] [--batch-size <list>] [flags]
       mnist sweep -f sweep.yaml [--name ...] [--tag k=v]
       mnist sweep list | status <sweep-id> | watch <sweep-id> | cancel <sweep-id>

Submits one job per grid point (models x learning rates x batch sizes x seeds) under
one sweep id and prints it; the jobs run at once on free trainers. The grid is checked
before anything is submitted (at most ${MAX_SWEEP_JOBS} jobs). 'mnist report <sweep-id>' then
gives mean ± std over seeds and Welch's t-test between the grid's configurations.

  -f, --file <path>          the request from .yaml/.yml/.json: models, seeds, lr, batchSize, base
      --models <list>        comma-separated: lenet5,mlp,lenet5-reg
      --seeds <n>            seeds per grid point: --seed, --seed + 1, ... (default 1)
      --lr <list>            learning rates, comma-separated (default: the recipe's one)
  -b, --batch-size <list>    global batch sizes, comma-separated (default 64)
${SPEC_FLAGS_HELP.split('\n')
  .slice(1)
  .filter((l) => !/--model |--lr |--batch-size /.test(l))
  .join('\n')}
      --replicas <n>         trainers per job, data-parallel (default 1)
${NAME_FLAGS_HELP.split('\n').slice(1).join('\n')}
  -w, --watch                follow the sweep until every job ends (like 'mnist sweep watch')
      --json                 print the sweep summary as JSON
${API_FLAGS_HELP}
  -h, --help                 this help

status: each job's model, seed, lr, batch, state and epoch. watch: a line whenever
the counts change; exit code 0 only if every job succeeded. cancel: stops the queued
and running jobs, keeps the finished ones.`;

function numberList(raw: string | undefined, flag: string): number[] | undefined {
  if (raw === undefined) return undefined;
  const values = raw.split(',').map((v) => v.trim());
  const numbers = values.map(Number);
  const bad = values.find((v, i) => v === '' || !Number.isFinite(numbers[i]));
  if (bad !== undefined) throw new UsageError(`--${flag} expects comma-separated numbers, got '${raw}'`);
  return numbers;
}

/** The request body from the flags, checked locally with the API's own grid rules. */
export function sweepRequestFromFlags(values: Values): SweepRequest {
  if (values.models === undefined) throw new UsageError('--models is required (e.g. --models lenet5,mlp,lenet5-reg)');
  const seeds = values.seeds === undefined ? 1 : Number(values.seeds);
  const replicas = values.replicas === undefined ? undefined : Number(values.replicas);
  const base: Record<string, unknown> = {
    ...specInputFromFlags({ ...values, lr: undefined, 'batch-size': undefined }, 'lenet5'),
    ...(replicas !== undefined && { replicas }),
  };
  delete base.model;
  const lr = numberList(values.lr as string | undefined, 'lr');
  const batchSize = numberList(values['batch-size'] as string | undefined, 'batch-size');
  const request: SweepRequest = {
    models: (values.models as string)
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean) as SweepRequest['models'],
    seeds,
    ...(lr && { lr }),
    ...(batchSize && { batchSize }),
    base,
  };
  return checkedSweep(request, values);
}

/** The request, checked locally with the API's own grid rules: a mistake names the flag (or the file's field). */
function checkedSweep(request: SweepRequest, values: Values): SweepRequest {
  try {
    expandSweep(request, 's-check');
  } catch (err) {
    if (err instanceof InvalidSweepError) throw new UsageError(err.issues.map((i) => flagIssue(i, values)).join('; '));
    throw err;
  }
  return request;
}

/** `-f sweep.yaml`: the whole request (models, seeds, lr, batchSize, base); the naming flags add to its base. */
async function sweepRequestFromFile(values: Values): Promise<SweepRequest> {
  const grid = Object.keys(FLAGS).filter(
    (k) => !(k in API_FLAGS) && !(k in NAME_FLAGS) && !['file', 'watch', 'json'].includes(k) && values[k] !== undefined,
  );
  if (grid.length > 0) throw new UsageError(`-f takes the whole sweep from the file; drop --${grid.join(', --')}`);
  const request = (await readSpecFile(values.file as string)) as SweepRequest;
  const naming = specInputFromFlags({ name: values.name, tag: values.tag, note: values.note }, 'lenet5');
  delete naming.model;
  return checkedSweep({ ...request, base: { ...(request.base ?? {}), ...naming } }, values);
}

const countsLine = (s: SweepSummary) =>
  `sweep ${s.id}: ${s.state}, ${s.total} jobs: ` +
  (['succeeded', 'running', 'queued', 'parked', 'failed', 'cancelled'] as const)
    .filter((k) => s.counts[k] > 0)
    .map((k) => `${s.counts[k]} ${k}`)
    .join(', ');

export function sweepTable(s: SweepSummary): string {
  return textTable(
    ['ID', 'MODEL', 'SEED', 'LR', 'BATCH', 'STATE', 'EPOCH', 'TRAINERS', 'MESSAGE'],
    s.jobs.map((j) => [
      j.id,
      j.spec.model,
      String(j.spec.seed),
      String(j.spec.optimizer.lr),
      String(j.spec.batchSize),
      j.state,
      `${j.epoch}/${j.spec.epochs}`,
      j.trainers.join(',') || '-',
      j.message ?? '',
    ]),
  );
}

export function sweepIdArg(value: string | undefined, command: string): string {
  if (value === undefined) throw new UsageError(`mnist ${command} needs a sweep id; list them with 'mnist sweep list'`);
  if (!SweepIdSchema.safeParse(value).success)
    throw new UsageError(`'${value}' is not a sweep id (like s-mwzacsyq-7gxqsgwb)`);
  return value;
}

const getSweep = async (api: Api, id: string) =>
  (await api.callRetrying(() => api.client.v1.sweeps[':id'].$get({ param: { id } }))).json();

/** Polls until every job has ended; a line each time the counts change. Exit 0 only if all succeeded. */
export async function watchSweep(api: Api, id: string, ctx: ClusterContext, intervalMs = 2000): Promise<number> {
  let last = '';
  for (;;) {
    const s = (await getSweep(api, id)) as SweepSummary;
    const line = countsLine(s);
    if (line !== last) ctx.out.info(line);
    last = line;
    if (s.jobs.every((j) => isFinalState(j.state))) {
      if (ctx.out.json) ctx.out.result(JSON.stringify(s));
      ctx.out.info(
        s.state === 'succeeded'
          ? `sweep ${id} succeeded; report: mnist report ${id}`
          : `sweep ${id} ${s.state}; mnist report ${id} covers the jobs that succeeded`,
      );
      return s.state === 'succeeded' ? 0 : 1;
    }
    if (ctx.signal.aborted) return 130;
    // core's sleep removes its abort listener each time: one per poll would pile up (MaxListenersExceededWarning).
    await sleep(intervalMs, ctx.signal);
    if (ctx.signal.aborted) return 130;
  }
}

const FLAGS = {
  ...SPEC_FLAGS,
  ...API_FLAGS,
  ...NAME_FLAGS,
  file: { type: 'string', short: 'f' },
  models: { type: 'string' },
  seeds: { type: 'string' },
  replicas: { type: 'string', short: 'r' },
  watch: { type: 'boolean', short: 'w' },
  json: { type: 'boolean' },
} as const;

export async function sweepCommand(args: string[], ctx: ClusterContext): Promise<number> {
  const { values, positionals } = parseFlags(args, FLAGS, true);
  if (values.help) return (ctx.out.result(SWEEP_HELP), 0);
  const [verb, idArg, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`mnist sweep ${verb} takes one sweep id`);
  const api = () => connectApi(values, ctx);
  switch (verb) {
    case undefined: {
      if (values.model !== undefined) throw new UsageError('mnist sweep takes --models <list>, not --model');
      const request = values.file === undefined ? sweepRequestFromFlags(values) : await sweepRequestFromFile(values);
      const a = api();
      const s = (await (await a.call(a.client.v1.sweeps.$post({ json: request }))).json()) as SweepSummary;
      if (ctx.out.json) ctx.out.result(JSON.stringify(s));
      else ctx.out.result(s.id);
      ctx.out.info(
        `submitted sweep ${s.id}: ${s.total} jobs${values.watch ? '' : `; follow it with: mnist sweep watch ${s.id}`}`,
      );
      return values.watch ? watchSweep(a, s.id, { ...ctx, out: { ...ctx.out, json: false } }) : 0;
    }
    case 'list': {
      const a = api();
      const { sweeps } = await (await a.callRetrying(() => a.client.v1.sweeps.$get())).json();
      if (ctx.out.json) ctx.out.result(JSON.stringify(sweeps));
      else if (sweeps.length === 0) ctx.out.info('no sweeps yet: mnist sweep --models lenet5,mlp --seeds 3');
      else
        ctx.out.result(
          textTable(
            ['ID', 'STATE', 'JOBS', 'SUCCEEDED', 'CREATED'],
            sweeps.map((s) => [s.id, s.state, String(s.total), String(s.counts.succeeded), ago(s.createdAt)]),
          ),
        );
      return 0;
    }
    case 'status': {
      const s = (await getSweep(api(), sweepIdArg(idArg, `sweep ${verb}`))) as SweepSummary;
      ctx.out.result(ctx.out.json ? JSON.stringify(s) : `${countsLine(s)}\n${sweepTable(s)}`);
      return 0;
    }
    case 'watch':
      return watchSweep(api(), sweepIdArg(idArg, `sweep ${verb}`), ctx);
    case 'cancel': {
      const a = api();
      const id = sweepIdArg(idArg, `sweep ${verb}`);
      const s = (await (
        await a.call(a.client.v1.sweeps[':id'].cancel.$post({ param: { id } }))
      ).json()) as SweepSummary;
      ctx.out.result(ctx.out.json ? JSON.stringify(s) : countsLine(s));
      return 0;
    }
    default:
      throw new UsageError(
        `unknown sweep verb '${verb}': use list, status, watch or cancel (or flags to start a sweep)`,
      );
  }
}
