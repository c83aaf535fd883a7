import type { ClusterContext } from './context.js';

export type { ClusterContext } from './context.js';

type Command = (args: string[], ctx: ClusterContext) => Promise<number>;

/** Loaded on use: `mnist models` should not pay for the API client, and `mnist jobs` not for the report renderer. */
const lazy =
  <M>(load: () => Promise<M>, pick: (m: M) => Command): Command =>
  async (args, ctx) =>
    pick(await load())(args, ctx);

/** The cluster verbs, by name: each talks to the API (API_URL, API_TOKEN or --api-url, --token). */
export const CLUSTER_COMMANDS: Readonly<Record<string, Command>> = {
  submit: lazy(
    () => import('./submit.js'),
    (m) => m.submitCommand,
  ),
  resubmit: lazy(
    () => import('./submit.js'),
    (m) => m.resubmitCommand,
  ),
  watch: lazy(
    () => import('./submit.js'),
    (m) => m.watchCommand,
  ),
  jobs: lazy(
    () => import('./jobs.js'),
    (m) => m.jobsCommand,
  ),
  status: lazy(
    () => import('./jobs.js'),
    (m) => m.statusCommand,
  ),
  cancel: lazy(
    () => import('./jobs.js'),
    (m) => m.cancelCommand,
  ),
  trainers: lazy(
    () => import('./jobs.js'),
    (m) => m.trainersCommand,
  ),
  artifacts: lazy(
    () => import('./artifacts.js'),
    (m) => m.artifactsCommand,
  ),
  logs: lazy(
    () => import('./logs.js'),
    (m) => m.logsCommand,
  ),
  report: lazy(
    () => import('./report.js'),
    (m) => m.reportCommand,
  ),
  sweep: lazy(
    () => import('./sweep.js'),
    (m) => m.sweepCommand,
  ),
};

export const CLUSTER_HELP = `Cluster (through the API at API_URL, default http://127.0.0.1:8787):
  submit        submit a training job   (mnist submit --model lenet5 --replicas 2 --watch)
  resubmit      submit an earlier job's spec again, flags changing it (mnist resubmit <id> --seed 2)
  jobs          list jobs: name, state, accuracy, run time; filter by --model, --tag, --sweep
  status        one job: spec, state, trainers, epochs so far
  watch         follow a job live; exit code 0 only if it succeeds
  cancel        cancel a queued or running job
  artifacts     download a job's files  (mnist artifacts <id> --out DIR)
  logs          a job's trainer log lines, every rank (mnist logs <id> --follow)
  report        build the report of one job, compare several, or a sweep's (mnist report <id> <id>)
  sweep         submit a grid of jobs (models x seeds x lr x batch); list, status, watch, cancel
  trainers      list the live trainers`;
