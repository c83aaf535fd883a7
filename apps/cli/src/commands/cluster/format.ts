import { isElastic, type JobEvent, type JobRecord, type JobSpec, type TrainerInfo } from '@mnist/protocol';

/** A plain text table: columns padded to their widest cell, two spaces apart. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** '12 s ago', '5 min ago', '3 h ago', else the date. */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return iso.slice(0, 10);
}

/** How replicas agree, as the `--sync` flag spells it: `step`, `local:16`, `local:16:average`. */
export function syncLabel(spec: Pick<JobSpec, 'sync'>): string {
  const s = spec.sync;
  return s === 'step' ? 'step' : `local:${s.every}${s.outer === 'nesterov' ? '' : `:${s.outer}`}`;
}

/** A job as `GET /v1/jobs` lists it: the record, and what is known of its accuracy and run time. */
export type ListedJob = JobRecord & { finalTestAcc?: number; bestTestAcc?: number; durationSec?: number };

const pct = (x: number | undefined) => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);

export function jobsTable(jobs: readonly ListedJob[], now = Date.now()): string {
  return textTable(
    [
      'ID',
      'NAME',
      'MODEL',
      'STATE',
      'EPOCH',
      'REPLICAS',
      'SYNC',
      'FINAL ACC',
      'BEST ACC',
      'TOOK',
      'CREATED',
      'MESSAGE',
    ],
    jobs.map((j) => [
      j.id,
      j.spec.name ?? '-',
      j.spec.model,
      j.state,
      `${j.epoch}/${j.spec.epochs}`,
      replicasLabel(j.spec),
      syncLabel(j.spec),
      pct(j.finalTestAcc),
      pct(j.bestTestAcc),
      j.durationSec === undefined ? '-' : duration(j.durationSec),
      ago(j.createdAt, now),
      j.message ?? '',
    ]),
  );
}

export function trainersTable(trainers: readonly TrainerInfo[], now = Date.now()): string {
  return textTable(
    ['ID', 'HOST', 'BACKEND', 'STATE', 'JOB', 'RANK', 'LAST SEEN'],
    trainers.map((t) => [
      t.id,
      t.host,
      t.backend,
      t.state,
      t.jobId ?? '-',
      t.rank === undefined ? '-' : String(t.rank),
      ago(t.lastSeen, now),
    ]),
  );
}

const seconds = (from?: string, to?: string) => (from && to ? (Date.parse(to) - Date.parse(from)) / 1000 : undefined);

/** `42.0 s`, `3 min 05 s`, `2 h 07 min`. */
export function duration(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** `mnist status`: what the job is, where it runs, how far it got. */
/** `2`, or a replica range `1:4` (elastic). */
export function replicasLabel(s: Pick<JobSpec, 'replicas' | 'minReplicas'>): string {
  return isElastic(s) ? `${s.minReplicas}:${s.replicas}` : String(s.replicas);
}

/** One resize as `mnist watch` prints it: "2 -> 1 ranks at epoch 3, step 410 (lost t-b: ...)". */
export function resizeLine(e: Extract<JobEvent, { type: 'resize' }>): string {
  const group = `attempt ${e.attempt}, group ${e.group}: ${e.members.join(', ')}`;
  return `${e.from} -> ${e.to} ranks at epoch ${e.epoch}, step ${e.step} (${e.why}); ${group}`;
}

export function describeJob(j: JobRecord): string {
  const s = j.spec;
  const o = s.optimizer;
  const optimizer = o.type === 'sgd' ? `sgd lr ${o.lr} momentum ${o.momentum}` : `adam lr ${o.lr}`;
  const trainLimit = s.trainLimit ? `, train ${s.trainLimit}` : '';
  const testLimit = s.testLimit ? `, test ${s.testLimit}` : '';
  const data = `${s.dataset}${trainLimit}${testLimit}`;
  const trainers = j.trainers.length ? ` on ${j.trainers.join(', ')}` : '';
  const backend = j.backend ? ` (${j.backend})` : '';
  const resized = j.group > 0 ? `; resized ${j.group} time(s) in attempt ${j.attempt}` : '';
  const took = seconds(j.startedAt, j.finishedAt);
  const started = j.startedAt ? `; started ${j.startedAt}` : '';
  const finished = j.finishedAt ? `; finished ${j.finishedAt}` : '';
  const ran = took !== undefined ? ` (${duration(took)})` : '';
  const lines = [
    `${j.id}  ${s.model}  ${j.state}${j.attempt > 1 ? ` (attempt ${j.attempt})` : ''}`,
    ...(s.name || s.tags
      ? [
          `  name:     ${s.name ?? '-'}${
            s.tags
              ? `; tags ${Object.entries(s.tags)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(' ')}`
              : ''
          }`,
        ]
      : []),
    `  spec:     ${s.epochs} epochs, batch ${s.batchSize}, ${optimizer}, seed ${s.seed}, ` +
      `replicas ${replicasLabel(s)}, sync ${syncLabel(s)}; ${data}`,
    `  progress: epoch ${j.epoch}/${s.epochs}${trainers}${backend}${resized}`,
    `  created:  ${j.createdAt}${started}${finished}${ran}`,
  ];
  if (j.message) lines.push(`  message:  ${j.message}`);
  if (s.note) lines.push(`  note:     ${s.note}`);
  return lines.join('\n');
}
