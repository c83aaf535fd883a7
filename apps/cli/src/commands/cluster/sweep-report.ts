import { join, relative } from 'node:path';
import type { JobRecord, JobSpec, SweepSummary } from '@mnist/protocol';
import { renderSeedTable, writeSeedReport, type SeedGroup } from '@mnist/report';
import { FsStore } from '@mnist/storage';
import { CliError } from '../../errors.js';
import type { Api } from './api-client.js';
import type { ClusterContext } from './context.js';

/** What varies across the sweep besides model and seed, for group titles: `lr 0.05, batch 32`. */
function varying(jobs: readonly JobRecord[]): Array<(s: JobSpec) => string> {
  const axes: Array<(s: JobSpec) => string> = [(s) => `lr ${s.optimizer.lr}`, (s) => `batch ${s.batchSize}`];
  return axes.filter((f) => new Set(jobs.map((j) => f(j.spec))).size > 1);
}

/** Jobs that differ only in their seed form one group. */
const configKey = ({ seed: _seed, ...rest }: JobSpec) => JSON.stringify(rest);

/**
 * `mnist report <sweep-id>`: the seed-study report over the sweep's jobs that succeeded,
 * into <out>/<sweep-id>/. Jobs that failed, were cancelled or are still going are named
 * as missing; the report covers the rest.
 */
export async function sweepReport(api: Api, id: string, root: string, ctx: ClusterContext): Promise<number> {
  const sweep = (await (
    await api.callRetrying(() => api.client.v1.sweeps[':id'].$get({ param: { id } }))
  ).json()) as SweepSummary;
  const done = sweep.jobs.filter((j) => j.state === 'succeeded');
  if (done.length === 0) throw new CliError(`sweep ${id} (${sweep.state}) has no succeeded job yet: nothing to report`);
  const records = new Map(
    await Promise.all(
      done.map(
        async (j) =>
          [
            j.id,
            (
              await (
                await api.callRetrying(() => api.client.v1.jobs[':id'].metrics.$get({ param: { id: j.id } }))
              ).json()
            ).records,
          ] as const,
      ),
    ),
  );
  const { MODELS } = await import('@mnist/models');
  const axes = varying(sweep.jobs);
  const groups = new Map<string, SeedGroup & { runs: SeedGroup['runs'][number][] }>();
  for (const j of sweep.jobs) {
    const key = configKey(j.spec);
    const title = [MODELS[j.spec.model].title, axes.map((f) => f(j.spec)).join(', ')].filter(Boolean).join(' ');
    const group = groups.get(key) ?? { title, model: j.spec.model, runs: [] };
    group.runs.push({ seed: j.spec.seed, records: records.get(j.id) ?? [] });
    groups.set(key, group);
  }
  const missing = sweep.jobs.filter((j) => j.state !== 'succeeded');
  const notes = missing.map((j) => {
    const config = `${j.spec.model}, seed ${j.spec.seed}${axes.map((f) => `, ${f(j.spec)}`).join('')}`;
    const why = j.message ? ` (${j.message})` : '';
    return `- Job ${j.id} (${config}) is ${j.state}${why}: it is not in the figures.`;
  });
  const dir = join(root, id);
  const first = done[0]!;
  const wall =
    (Math.max(...done.map((j) => Date.parse(j.finishedAt ?? j.updatedAt))) - Date.parse(sweep.createdAt)) / 1000;
  await writeSeedReport(new FsStore(dir), {
    groups: [...groups.values()],
    title: `Sweep ${id}: ${[...groups.values()].map((g) => g.title).join(' vs ')}`,
    notes,
    meta: {
      spec: first.spec,
      seeds: [...new Set(sweep.jobs.map((j) => j.spec.seed))].sort((a, b) => a - b),
      ...(wall > 0 && { wallSeconds: wall }),
    },
  });
  ctx.out.result(renderSeedTable([...groups.values()]).trimEnd());
  if (missing.length)
    ctx.out.info(
      `note: ${missing.length} of ${sweep.total} jobs did not succeed ` +
        `(${missing.map((j) => `${j.id} ${j.state}`).join(', ')}); the report covers the other ${done.length}`,
    );
  ctx.out.info(`report: ${relative(process.cwd(), join(dir, 'report.md')) || 'report.md'}`);
  return 0;
}
