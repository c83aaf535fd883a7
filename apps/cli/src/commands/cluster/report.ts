import { join, relative } from 'node:path';
import { artifactKeys, toMetricsJsonl, type EpochRecord, type JobSpec } from '@mnist/protocol';
import { recipeDifferences, renderMetricsTable, writeReport, type RunMetrics } from '@mnist/report';
import { FsStore, putJson } from '@mnist/storage';
import { CliError, UsageError } from '../../errors.js';
import { parseFlags } from '../../flags.js';
import { freshDir, timestamp } from '../../local/run-dirs.js';
import { API_FLAGS, API_FLAGS_HELP, connectApi, jobIdArg } from './api-client.js';
import type { ClusterContext } from './context.js';
import { sweepIdArg } from './sweep.js';

export const REPORT_HELP = `Usage: mnist report <job-id> [<job-id>...] [--out DIR]
       mnist report <sweep-id> [--out DIR]

Builds the same report as a local run from the jobs' epoch records: report.md (the
seed-style table and, for several jobs, the comparison), curves.png and curves.svg.
Several jobs: also overlay.png/svg, every job's test curves on one chart, and a warning
first (on stderr and atop report.md) naming every recipe field in which they differ
(data limits, epochs, batch, optimizer, seed, replicas, sync, backend).
One job: into <out>/<job-id>/ (with its spec.json and metrics.jsonl); several: into
<out>/compare-<timestamp>/. Prints the table.

A sweep id (s-...) gives the seed-study report of the sweep's succeeded jobs in
<out>/<sweep-id>/: mean ± std per epoch, band curves, final and best test accuracy with
95% intervals, and Welch's t-test between its configurations; missing jobs are named.

  -o, --out <dir>            folder for reports (default RUNS_DIR or ./runs)
${API_FLAGS_HELP}`;

const DATASET_TITLES: Record<JobSpec['dataset'], string> = { mnist: 'MNIST', 'fashion-mnist': 'Fashion-MNIST' };
/** The recipe of a spec: what trains, without the model compared and the labels (name, tags, note, sweep). */
const recipe = ({ model: _m, name: _n, tags: _t, note: _o, sweepId: _s, ...rest }: JobSpec) => JSON.stringify(rest);
const sameRecipe = (a: JobSpec, b: JobSpec) => recipe(a) === recipe(b);

export async function reportCommand(args: string[], ctx: ClusterContext): Promise<number> {
  const { values, positionals } = parseFlags(args, { ...API_FLAGS, out: { type: 'string', short: 'o' } }, true);
  if (values.help) return (ctx.out.result(REPORT_HELP), 0);
  if (positionals.length === 0)
    throw new UsageError("mnist report needs at least one job id; list them with 'mnist jobs'");
  const root = (values.out as string | undefined) ?? ctx.env.RUNS_DIR;
  if (positionals.some((p) => p.startsWith('s-'))) {
    if (positionals.length > 1) throw new UsageError('mnist report takes one sweep id, alone');
    const { sweepReport } = await import('./sweep-report.js');
    return sweepReport(connectApi(values, ctx), sweepIdArg(positionals[0], 'report'), root, ctx);
  }
  const ids = positionals.map((p) => jobIdArg(p, 'report'));
  if (new Set(ids).size !== ids.length) throw new UsageError('a job id is listed twice');

  const api = connectApi(values, ctx);
  const jobs = await Promise.all(
    ids.map(async (id) => {
      const job = await (await api.callRetrying(() => api.client.v1.jobs[':id'].$get({ param: { id } }))).json();
      const { records } = await (
        await api.callRetrying(() => api.client.v1.jobs[':id'].metrics.$get({ param: { id } }))
      ).json();
      if (records.length === 0)
        throw new CliError(`job ${id} (${job.state}) has no finished epoch yet: nothing to report`);
      return { job, records };
    }),
  );
  const { MODELS } = await import('@mnist/models');
  const titles = jobs.map(({ job }) => MODELS[job.spec.model].title);
  // The comparison names runs by title: two jobs of one model need their ids to tell them apart.
  const runs: RunMetrics[] = jobs.map(({ job, records }, i) => ({
    title: titles.filter((t) => t === titles[i]).length > 1 ? `${titles[i]} (${job.id})` : titles[i]!,
    model: job.spec.model,
    records,
  }));

  const first = jobs[0]!.job;
  let dir: string;
  if (jobs.length === 1) {
    dir = join(root, first.id);
    const store = new FsStore(dir);
    await putJson(store, artifactKeys.spec, first.spec);
    await store.put(artifactKeys.metrics, toMetricsJsonl(jobs[0]!.records));
    const wall =
      first.startedAt && first.finishedAt
        ? (Date.parse(first.finishedAt) - Date.parse(first.startedAt)) / 1000
        : undefined;
    await writeReport(store, {
      runs,
      title: `${runs[0]!.title} on ${first.spec.dataset}`,
      meta: {
        spec: first.spec,
        ...(first.backend && { backend: first.backend }),
        ...(wall !== undefined && { wallSeconds: wall }),
      },
    });
  } else {
    dir = freshDir(root, `compare-${timestamp()}`);
    const datasets = [...new Set(jobs.map(({ job }) => DATASET_TITLES[job.spec.dataset]))].join(' + ');
    // Said first, before any number: a comparison across recipes is not like for like.
    const backendOf = (records: readonly EpochRecord[], fallback?: string) =>
      [...new Set(records.map((r) => r.backend))].join('+') || fallback;
    const differences = recipeDifferences(
      jobs.map(({ job, records }, i) => ({
        title: runs[i]!.title,
        spec: job.spec,
        backend: backendOf(records, job.backend),
      })),
    );
    if (differences.length)
      ctx.out.info(
        `warning: these runs differ in more than the model:\n${differences.map((d) => `  ${d}`).join('\n')}`,
      );
    await writeReport(new FsStore(dir), {
      runs,
      title: `${datasets} comparison: ${runs.map((r) => r.title).join(' vs ')}`,
      // The header describes one recipe: only when every job shares it (the model aside).
      meta: { ...(jobs.every(({ job }) => sameRecipe(job.spec, first.spec)) && { spec: first.spec }), differences },
    });
  }
  ctx.out.result(renderMetricsTable(runs).trimEnd());
  const unfinished = jobs.filter(({ job }) => job.state !== 'succeeded').map(({ job }) => `${job.id} is ${job.state}`);
  if (unfinished.length) ctx.out.info(`note: ${unfinished.join(', ')}; the report covers the epochs so far`);
  ctx.out.info(`report: ${relative(process.cwd(), join(dir, 'report.md')) || 'report.md'}`);
  return 0;
}
