import { JOB_STATES, MODEL_NAMES, type JobState, type ModelName } from '@mnist/protocol';
import { UsageError } from '../../errors.js';
import { parseFlags, tagsFlag, type Values } from '../../flags.js';
import { API_FLAGS, API_FLAGS_HELP, connectApi, jobIdArg } from './api-client.js';
import type { ClusterContext } from './context.js';
import { describeJob, jobsTable, trainersTable, type ListedJob } from './format.js';
import { sweepIdArg } from './sweep.js';

const JOBS_FLAGS_USAGE = '[--state <state>] [--model <name>] [--tag k=v]... [--sweep <id>] [--limit <n>] [--json]';
export const JOBS_HELP = `Usage: mnist jobs ${JOBS_FLAGS_USAGE}

Lists the cluster's jobs, newest first: name, model, state, epoch, replicas, sync mode,
final and best test accuracy, and how long it ran.
      --state <state>        ${JOB_STATES.join(' | ')}
      --model <name>         ${MODEL_NAMES.join(' | ')}
      --tag <key=value>      only jobs with this tag; repeat to require several
      --sweep <sweep-id>     only the jobs of this sweep
      --limit <n>            at most this many (default 100); the API hands them out a page at a time

${API_FLAGS_HELP}`;
export const STATUS_HELP = `Usage: mnist status <job-id> [--json]

One job: its spec, state, trainers and the epochs so far.

${API_FLAGS_HELP}`;
export const CANCEL_HELP = `Usage: mnist cancel <job-id> [--json]

Cancels a queued or running job (every rank stops within a step or two).

${API_FLAGS_HELP}`;
export const TRAINERS_HELP = `Usage: mnist trainers [--json]

Lists the live trainers (those with a recent heartbeat).

${API_FLAGS_HELP}`;

const FLAGS = { ...API_FLAGS, json: { type: 'boolean' } } as const;

/** The flags and the one job id of `status` and `cancel`; undefined after printing the help. */
function oneId(
  args: string[],
  command: string,
  help: string,
  ctx: ClusterContext,
): { values: Values; id: string } | undefined {
  const { values, positionals } = parseFlags(args, FLAGS, true);
  if (values.help) return void ctx.out.result(help);
  if (positionals.length > 1) throw new UsageError(`mnist ${command} takes one job id`);
  return { values, id: jobIdArg(positionals[0], command) };
}

/** The API's largest page. */
const PAGE = 1000;

export async function jobsCommand(args: string[], ctx: ClusterContext): Promise<number> {
  const { values } = parseFlags(args, {
    ...FLAGS,
    state: { type: 'string' },
    model: { type: 'string', short: 'm' },
    tag: { type: 'string', multiple: true },
    sweep: { type: 'string' },
    limit: { type: 'string' },
  });
  if (values.help) return (ctx.out.result(JOBS_HELP), 0);
  const state = values.state as string | undefined;
  if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state))
    throw new UsageError(`--state '${state}': must be one of ${JOB_STATES.join(', ')}`);
  const model = values.model as string | undefined;
  if (model !== undefined && !(MODEL_NAMES as readonly string[]).includes(model))
    throw new UsageError(`--model '${model}': must be one of ${MODEL_NAMES.join(', ')}`);
  const tags = Object.entries(tagsFlag(values.tag) ?? {}).map(([k, v]) => `${k}=${v}`);
  const sweep = values.sweep === undefined ? undefined : sweepIdArg(values.sweep as string, 'jobs --sweep');
  const filters = {
    ...(model && { model: model as ModelName }),
    ...(tags.length && { tag: tags }),
    ...(sweep && { sweep }),
  };
  const limitText = (values.limit as string | undefined) ?? '100';
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1)
    throw new UsageError(`--limit expects a positive whole number, got '${limitText}'`);
  const api = connectApi(values, ctx);
  const jobs: ListedJob[] = [];
  let cursor: string | undefined;
  do {
    const query = {
      ...(state && { state: state as JobState }),
      ...filters,
      limit: Math.min(PAGE, limit - jobs.length),
      ...(cursor && { cursor }),
    };
    const page = await (await api.callRetrying(() => api.client.v1.jobs.$get({ query }))).json();
    jobs.push(...page.jobs);
    cursor = page.nextCursor;
  } while (cursor && jobs.length < limit);
  if (cursor) ctx.out.info(`more jobs: raise --limit (showing the newest ${jobs.length})`);
  if (ctx.out.json) ctx.out.result(JSON.stringify(jobs));
  else if (jobs.length === 0)
    ctx.out.info(
      model || tags.length || sweep
        ? 'no jobs match'
        : state
          ? `no ${state} jobs`
          : 'no jobs yet: mnist submit --model lenet5',
    );
  else ctx.out.result(jobsTable(jobs));
  return 0;
}

export async function statusCommand(args: string[], ctx: ClusterContext): Promise<number> {
  const a = oneId(args, 'status', STATUS_HELP, ctx);
  if (!a) return 0;
  const api = connectApi(a.values, ctx);
  const job = await (await api.callRetrying(() => api.client.v1.jobs[':id'].$get({ param: { id: a.id } }))).json();
  if (ctx.out.json) return (ctx.out.result(JSON.stringify(job)), 0);
  ctx.out.result(describeJob(job));
  const { records } = await (
    await api.callRetrying(() => api.client.v1.jobs[':id'].metrics.$get({ param: { id: a.id } }))
  ).json();
  if (records.length > 0) {
    const [{ renderMetricsTable }, { MODELS }] = await Promise.all([import('@mnist/report'), import('@mnist/models')]);
    ctx.out.result(
      '\n' + renderMetricsTable([{ title: MODELS[job.spec.model].title, model: job.spec.model, records }]).trimEnd(),
    );
  }
  return 0;
}

export async function cancelCommand(args: string[], ctx: ClusterContext): Promise<number> {
  const a = oneId(args, 'cancel', CANCEL_HELP, ctx);
  if (!a) return 0;
  const api = connectApi(a.values, ctx);
  const job = await (await api.call(api.client.v1.jobs[':id'].cancel.$post({ param: { id: a.id } }))).json();
  ctx.out.result(ctx.out.json ? JSON.stringify(job) : `cancelled ${job.id}`);
  return 0;
}

export async function trainersCommand(args: string[], ctx: ClusterContext): Promise<number> {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) return (ctx.out.result(TRAINERS_HELP), 0);
  const api = connectApi(values, ctx);
  const { trainers } = await (await api.callRetrying(() => api.client.v1.trainers.$get())).json();
  if (ctx.out.json) ctx.out.result(JSON.stringify(trainers));
  else if (trainers.length === 0) ctx.out.info('no trainer has a heartbeat: start some with npm run trainer');
  else ctx.out.result(trainersTable(trainers));
  return 0;
}
