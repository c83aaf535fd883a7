import { basename, join, relative } from 'node:path';
import { DatasetCache, type Dataset } from '@mnist/data';
import { getModel } from '@mnist/models';
import { artifactKeys, checkpointEpoch, type EpochRecord, type JobSpec } from '@mnist/protocol';
import {
  formatDuration,
  formatInt,
  renderMetricsHeader,
  renderMetricsRow,
  writeReport,
  writeSeedReport,
  type RunMetrics,
  type SeedGroup,
} from '@mnist/report';
import { FsStore } from '@mnist/storage';
import { runJob } from '@mnist/training';
import { selectBackend, type BackendChoice } from '@mnist/backends';
import { CliError } from '../errors.js';
import type { Output } from '../output.js';

export interface LocalRun {
  spec: JobSpec;
  /** The run's folder: spec.json, metrics.jsonl, checkpoints/, report.md, curves.*. */
  dir: string;
}

export interface RunLocalOptions {
  runs: LocalRun[];
  /** A study folder gets a combined report of all runs. */
  studyDir?: string;
  /** Several seeds per model: the study report shows mean ± std and tests between models. */
  seedStudy?: boolean;
  resume: boolean;
  backend: BackendChoice;
  datasetDir?: string;
  out: Output;
  signal?: AbortSignal;
}

const where = (dir: string) => relative(process.cwd(), dir) || '.';

/**
 * Ctrl-C during training: say where the run is and what was kept, truthfully (a
 * checkpoint exists only after a checkpointed epoch), with the exact resume command.
 */
export async function cancelledSays<T>(
  runDir: string,
  studyDir: string | undefined,
  train: () => Promise<T>,
): Promise<T> {
  try {
    return await train();
  } catch (err) {
    if ((err as Error).name !== 'TrainingCancelledError') throw err;
    const saved = (await new FsStore(runDir).list(artifactKeys.checkpointsDir))
      .map((k) => checkpointEpoch(k.slice(0, k.indexOf('/', artifactKeys.checkpointsDir.length) + 1)))
      .filter((e): e is number => e !== undefined);
    const epoch = (err as { epoch: number }).epoch;
    const kept = saved.length
      ? `the checkpoint of epoch ${Math.max(...saved)} is kept: ` +
        `resume with mnist ${studyDir ? 'reproduce' : 'train'} --resume ${where(studyDir ?? runDir)}`
      : 'no epoch had finished, so there is no checkpoint to resume from';
    throw new CliError(`stopped during epoch ${epoch}; ${kept}`, 130);
  }
}

/** Trains each run in turn on one backend, streaming the seed-style table, and writes the reports. */
export async function runLocal(o: RunLocalOptions): Promise<RunMetrics[]> {
  const { out } = o;
  const started = performance.now();
  const backend = await selectBackend(o.backend);
  const skipped = backend.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  out.info(
    `backend: ${backend.name}${backend.detail ? `, ${backend.detail}` : ''}${skipped ? ` (skipped ${skipped})` : ''}`,
  );

  const datasets = new DatasetCache(o.datasetDir);
  const announced = new Set<Dataset>();
  const results: RunMetrics[] = [];
  let headerPrinted = false;

  for (const { spec, dir } of o.runs) {
    const t0 = performance.now();
    const data = await datasets.get(spec);
    if (!announced.has(data)) {
      announced.add(data);
      const images = `${data.train.count} train / ${data.test.count} test images`;
      out.info(`data: ${spec.dataset} from ${data.dir}: ${images} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    }
    const { title: modelTitle } = getModel(spec.model);
    const title = o.seedStudy ? `${modelTitle} seed ${spec.seed}` : modelTitle;
    const runId = basename(dir);
    let rows = 0;
    const printRecord = (r: EpochRecord) => {
      if (!out.json && !headerPrinted) out.result(renderMetricsHeader());
      headerPrinted = true;
      if (out.json)
        out.result(JSON.stringify({ model: spec.model, runId, ...(o.seedStudy && { seed: spec.seed }), ...r }));
      else out.result(renderMetricsRow(rows === 0 ? title : '', r));
      rows++;
    };
    const runStart = performance.now();
    let resumed = false;
    const result = await cancelledSays(dir, o.studyDir, () =>
      runJob({
        spec,
        store: new FsStore(dir),
        data,
        backend: backend.name,
        resume: o.resume,
        signal: o.signal,
        onStart: ({ startEpoch, records }) => {
          resumed = startEpoch > 1;
          out.info(
            startEpoch > spec.epochs
              ? `${spec.model}: ${where(dir)} already finished all ${spec.epochs} epochs; writing its report again`
              : startEpoch > 1
                ? `${spec.model}: resuming ${where(dir)} at epoch ${startEpoch}/${spec.epochs}`
                : `${spec.model}: training into ${where(dir)}`,
          );
          records.forEach(printRecord);
        },
        onStep: (p) => out.progress.step(spec.model, spec.epochs, p),
        onEpoch: (r) => {
          printRecord(r);
          const rate = formatInt(Math.round(r.imagesPerSec));
          out.info(`${spec.model} epoch ${r.epoch}/${spec.epochs}: ${r.seconds.toFixed(1)} s, ${rate} img/s`);
        },
      }),
    );
    result.model.dispose();
    const run: RunMetrics = { title: modelTitle, model: spec.model, records: result.records };
    await writeReport(new FsStore(dir), {
      runs: [run],
      title: `${title} on ${spec.dataset}`,
      // A resumed run's earlier part was timed by another process: its wall time is unknown.
      meta: { spec, backend: backend.name, ...(!resumed && { wallSeconds: (performance.now() - runStart) / 1000 }) },
    });
    results.push(run);
  }

  const wallSeconds = (performance.now() - started) / 1000;
  const firstSpec = o.runs[0]?.spec;
  if (o.studyDir && firstSpec) {
    const dataset = firstSpec.dataset === 'mnist' ? 'MNIST' : 'Fashion-MNIST';
    if (o.seedStudy) {
      const groups = groupBySeed(o.runs, results);
      const seeds = [...new Set(o.runs.map((r) => r.spec.seed))];
      await writeSeedReport(new FsStore(o.studyDir), {
        groups,
        title: `${dataset} seed study: ${groups.map((g) => g.title).join(' vs ')}`,
        meta: { spec: firstSpec, seeds, backend: backend.name, ...(!o.resume && { wallSeconds }) },
      });
    } else {
      await writeReport(new FsStore(o.studyDir), {
        runs: results,
        title: `${dataset} study: ${results.map((r) => r.title).join(' vs ')}`,
        meta: { spec: firstSpec, backend: backend.name, ...(!o.resume && { wallSeconds }) },
      });
    }
  }
  const reportDir = o.studyDir ?? o.runs[0]?.dir;
  out.info(
    `done in ${formatDuration(wallSeconds)}${reportDir ? `; report: ${where(join(reportDir, 'report.md'))}` : ''}`,
  );
  return results;
}

/** The runs of one model, whatever their seeds, as one group (in the order they ran). */
export function groupBySeed(runs: readonly LocalRun[], results: readonly RunMetrics[]): SeedGroup[] {
  const groups = new Map<string, { title: string; model: string; runs: SeedGroup['runs'][number][] }>();
  runs.forEach(({ spec }, i) => {
    const result = results[i];
    if (!result) return;
    const group = groups.get(spec.model) ?? { title: result.title, model: spec.model, runs: [] };
    group.runs.push({ seed: spec.seed, records: result.records });
    groups.set(spec.model, group);
  });
  return [...groups.values()];
}
