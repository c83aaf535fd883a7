import { availableParallelism, cpus } from 'node:os';
import { parseMetricsJsonl, artifactKeys, type EpochRecord, type JobSpecInput } from '@mnist/protocol';
import { getText } from '@mnist/storage';
import { createVirtualHosts, virtualHostsUnavailable, type VirtualHosts } from '@mnist/testing';
import { startTestCluster, type TestCluster } from '../test/harness.js';

/**
 * `npm run bench:cluster`: training throughput of one lenet5 job on 1, 2 and 3 trainer
 * processes of this machine, through the whole cluster path, for step sync and local SGD,
 * on loopback and on bandwidth-limited links between network namespaces (root only).
 * Every trainer is pinned to one thread, so N trainers get N cores' worth at most and the
 * ratios are fair. Epoch 1 is warm-up and left out of the rate (the median of the later
 * epochs' training images/s, evaluation excluded). The split of each step comes from the
 * trainers' `collective.stats` lines of the measured epochs. Prints one JSON object; a
 * table goes to stderr as runs finish.
 *
 * BENCH_TRAIN_LIMIT (default 60000), BENCH_EPOCHS (default 2), BENCH_PROFILES (default
 * loopback,1gbit,100mbit), BENCH_LOCAL_EVERY (default 16) change the plan.
 */
const EVERY = Number(process.env.BENCH_LOCAL_EVERY ?? 16);
const JOB = {
  model: 'lenet5',
  trainLimit: Number(process.env.BENCH_TRAIN_LIMIT ?? 60_000),
  testLimit: 10_000,
  epochs: Number(process.env.BENCH_EPOCHS ?? 2),
  batchSize: 64,
  seed: 1,
} as const;
const PROFILES = (process.env.BENCH_PROFILES ?? 'loopback,1gbit,100mbit').split(',');
const PINNED = { TFJS_ONEDNN_THREADS: 'single', OMP_NUM_THREADS: '1', COLLECTIVE_TIMEOUT_MS: '60000', COLLECTIVE_SLOW_TIMEOUT_MS: '300000' };
type Sync = 'step' | 'local' | 'independent' | 'independent-shard';
// 'independent': N separate 1-replica jobs at once, summed: what N pinned trainers of this
// machine compute with no exchange at all. 'independent-shard': the same at batch B/N,
// each rank's share of a step: the ceiling for any sync mode at global batch B.
const PLAN: { trainers: number; sync: Sync; profiles: 'all' | 'loopback' }[] = [
  { trainers: 1, sync: 'step', profiles: 'all' },
  { trainers: 2, sync: 'independent', profiles: 'loopback' },
  { trainers: 2, sync: 'independent-shard', profiles: 'loopback' },
  { trainers: 2, sync: 'step', profiles: 'all' },
  { trainers: 2, sync: 'local', profiles: 'all' },
  { trainers: 3, sync: 'step', profiles: 'loopback' },
  { trainers: 3, sync: 'local', profiles: 'loopback' },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const r2 = (x: number) => Number(x.toFixed(2));

interface Run {
  profile: string;
  trainers: number;
  sync: string;
  imagesPerSec: number;
  ratio?: number;
  testAcc: number;
  /** Means over the measured epochs and all ranks, ms per step / round; bytes per rank and round. */
  split?: Record<string, number>;
}

async function finished(cluster: TestCluster, spec: JobSpecInput, what: string): Promise<{ id: string; records: EpochRecord[] }> {
  const job = await cluster.submit(spec);
  const final = await cluster.waitForFinal(job.id, 1_800_000);
  if (final.state !== 'succeeded') throw new Error(`${what}: ${final.state}: ${final.message}`);
  return { id: job.id, records: parseMetricsJsonl((await getText(cluster.jobStore(job.id), artifactKeys.metrics)) ?? '') };
}

const rateOf = (records: EpochRecord[]) => median(records.slice(1).map((r) => r.imagesPerSec));

async function runOne(cluster: TestCluster, profile: string, trainers: number, sync: Sync): Promise<Run> {
  const what = `${profile} x${trainers} ${sync}`;
  if (sync === 'independent' || sync === 'independent-shard') {
    const batchSize = sync === 'independent' ? JOB.batchSize : JOB.batchSize / trainers;
    const jobs = await Promise.all(Array.from({ length: trainers }, () => finished(cluster, { ...JOB, batchSize, replicas: 1 }, what)));
    const rate = jobs.reduce((sum, j) => sum + rateOf(j.records), 0);
    return { profile, trainers, sync: `${trainers} independent 1-replica jobs at batch ${batchSize}`, imagesPerSec: Math.round(rate), testAcc: jobs[0]!.records.at(-1)!.testAcc };
  }
  const job = await finished(cluster, { ...JOB, replicas: trainers, sync: sync === 'step' ? 'step' : { every: EVERY } }, what);
  const records = job.records;
  const stats = cluster.logs((l) => l.event === 'collective.stats' && l.jobId === job.id && Number(l.epoch) > 1);
  const avg = (f: string) => r2(mean(stats.map((l) => Number(l[f]))));
  const split =
    stats.length > 0
      ? {
          stepMs: avg('stepMs'),
          roundMs: avg('meanRoundMs'),
          waitMs: avg('meanWaitMs'),
          skewMs: avg('meanSkewMs'),
          hopMs: avg('meanHopMs'),
          sumMs: avg('meanSumMs'),
          computeMs: r2(avg('stepMs') - avg('meanRoundMs') * (mean(stats.map((l) => Number(l.rounds))) / mean(stats.map((l) => Number(l.steps))))),
          roundsPerStep: r2(mean(stats.map((l) => Number(l.rounds) / Number(l.steps)))),
          bytesPerRound: Math.round(mean(stats.map((l) => (Number(l.bytesSent) + Number(l.bytesReceived)) / Math.max(1, Number(l.rounds))))),
        }
      : undefined;
  return { profile, trainers, sync: sync === 'step' ? 'step' : `local every ${EVERY}`, imagesPerSec: Math.round(rateOf(records)), testAcc: records.at(-1)!.testAcc, split };
}

async function main(): Promise<void> {
  const runs: Run[] = [];
  const skipped: Record<string, string> = {};
  let backend = '';
  for (const profile of PROFILES) {
    const limited = profile !== 'loopback';
    const reason = limited ? virtualHostsUnavailable() : undefined;
    if (reason) {
      skipped[profile] = reason;
      process.stderr.write(`${profile}: skipped (${reason})\n`);
      continue;
    }
    const plan = PLAN.filter((p) => p.profiles === 'all' || !limited);
    const most = Math.max(...plan.map((p) => p.trainers));
    let hosts: VirtualHosts | undefined;
    if (limited) hosts = await createVirtualHosts({ hosts: most, rate: profile });
    const cluster = await startTestCluster({ trainers: most, env: PINNED, hosts });
    try {
      for (const p of plan) {
        const run = await runOne(cluster, profile, p.trainers, p.sync);
        const base = runs.find((r) => r.profile === profile && r.trainers === 1);
        if (base) run.ratio = r2(run.imagesPerSec / base.imagesPerSec);
        runs.push(run);
        backend ||= (await cluster.client.trainers.list())[0]?.backend ?? '';
        process.stderr.write(`${profile} x${p.trainers} ${run.sync}: ${run.imagesPerSec} img/s${run.ratio ? ` (${run.ratio}x)` : ''}, test acc ${(run.testAcc * 100).toFixed(2)}%${run.split ? `, ${JSON.stringify(run.split)}` : ''}\n`);
      }
    } finally {
      await cluster.stop();
      await hosts?.stop();
    }
  }
  const out = {
    bench: 'cluster',
    method: 'median training images/s of epochs 2..N (rank 0, evaluation excluded), trainers pinned to one thread each',
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', backend },
    job: { ...JOB, localEvery: EVERY },
    runs,
    skipped,
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:cluster: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
