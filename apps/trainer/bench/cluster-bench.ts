import { availableParallelism, cpus } from 'node:os';
import { parseMetricsJsonl, artifactKeys, type EpochRecord, type JobSpecInput } from '@mnist/protocol';
import { getText } from '@mnist/storage';
import { createVirtualHosts, virtualHostsUnavailable, type VirtualHosts } from '@mnist/testing';
import { findTorchPython, runTorchDdp, TORCH_MISSING } from '@mnist/torch-bench';
import { startTestCluster, type TestCluster } from '../test/harness.js';
import { benchJob, median, SINGLE_THREAD_ENV } from './bench-job.js';

/**
 * `npm run bench:cluster`: training throughput of one lenet5 job on 1 and 2 trainer processes
 * of this machine, through the whole cluster path (API-less: the test harness submits), for
 * step sync over TCP and over NATS, weak scaling (64 per replica) and local SGD, on loopback
 * and on bandwidth-limited links between network namespaces (root only), beside the
 * machine's own ceiling (independent one-replica jobs at once) and PyTorch DDP (gloo over
 * loopback TCP, tools/torch-bench/torch_ddp.py) in the same run. Every trainer and DDP rank
 * runs on one thread, so N of them get N cores' worth at most and the ratios are fair.
 * Epoch 1 is warm-up and left out of the rate (the median of the later epochs' training
 * images/s, evaluation excluded). The split of each step comes from the trainers'
 * `collective.stats` lines of the measured epochs. Prints one JSON object; a table goes to
 * stderr as runs finish.
 *
 * BENCH_TRAIN_LIMIT (default 12800), BENCH_EPOCHS (default 4), BENCH_PROFILES (default
 * loopback,1gbit,100mbit), BENCH_LOCAL_EVERY (default 16), BENCH_MODES (some of step, weak, local,
 * independent, independent-shard; the one-trainer baseline always runs), BENCH_TORCH=0 (skip DDP)
 * change the plan.
 */
const EVERY = Number(process.env.BENCH_LOCAL_EVERY ?? 16);
const JOB = benchJob(4, 10_000);
const PROFILES = (process.env.BENCH_PROFILES ?? 'loopback,1gbit,100mbit').split(',');
const MODES = process.env.BENCH_MODES ? new Set(process.env.BENCH_MODES.split(',')) : undefined;
type Mode = 'step' | 'weak' | 'local' | 'independent' | 'independent-shard';
// 'independent': N separate 1-replica jobs at once, summed: what N pinned trainers of this
// machine compute with no exchange at all. 'independent-shard': the same at batch B/N,
// each rank's share of a step: the ceiling for any sync mode at global batch B.
interface Plan {
  trainers: number;
  mode: Mode;
  transport?: 'tcp' | 'nats';
  profiles: 'all' | 'loopback';
}
const PLAN: Plan[] = [
  { trainers: 1, mode: 'step', profiles: 'all' },
  { trainers: 2, mode: 'independent', profiles: 'loopback' },
  { trainers: 2, mode: 'independent-shard', profiles: 'loopback' },
  { trainers: 2, mode: 'step', transport: 'tcp', profiles: 'all' },
  { trainers: 2, mode: 'step', transport: 'nats', profiles: 'all' },
  { trainers: 2, mode: 'weak', transport: 'tcp', profiles: 'all' },
  { trainers: 2, mode: 'local', transport: 'tcp', profiles: 'all' },
  { trainers: 2, mode: 'local', transport: 'nats', profiles: 'loopback' },
];

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const r2 = (x: number) => Number(x.toFixed(2));

interface Run {
  profile: string;
  trainers: number;
  sync: string;
  transport?: string;
  globalBatch: number;
  imagesPerSec: number;
  ratio?: number;
  testAcc?: number;
  /** Means over the measured epochs and all ranks, ms per step / round; bytes per rank and round. */
  split?: Record<string, number>;
}

async function finished(
  cluster: TestCluster,
  spec: JobSpecInput,
  what: string,
): Promise<{ id: string; records: EpochRecord[] }> {
  const job = await cluster.submit(spec);
  const final = await cluster.waitForFinal(job.id, 1_800_000);
  if (final.state !== 'succeeded') throw new Error(`${what}: ${final.state}: ${final.message}`);
  return {
    id: job.id,
    records: parseMetricsJsonl((await getText(cluster.jobStore(job.id), artifactKeys.metrics)) ?? ''),
  };
}

const rateOf = (records: EpochRecord[]) => median(records.slice(1).map((r) => r.imagesPerSec));

function splitOf(cluster: TestCluster, jobId: string): Record<string, number> | undefined {
  const stats = cluster.logs((l) => l.event === 'collective.stats' && l.jobId === jobId && Number(l.epoch) > 1);
  if (stats.length === 0) return undefined;
  const avg = (f: string) => r2(mean(stats.map((l) => Number(l[f]))));
  const roundsPerStep = mean(stats.map((l) => Number(l.rounds) / Number(l.steps)));
  return {
    stepMs: avg('stepMs'),
    roundMs: avg('meanRoundMs'),
    waitMs: avg('meanWaitMs'),
    skewMs: avg('meanSkewMs'),
    hopMs: avg('meanHopMs'),
    sumMs: avg('meanSumMs'),
    computeMs: r2(avg('stepMs') - avg('meanRoundMs') * roundsPerStep),
    roundsPerStep: r2(roundsPerStep),
    bytesPerRound: Math.round(
      mean(stats.map((l) => (Number(l.bytesSent) + Number(l.bytesReceived)) / Math.max(1, Number(l.rounds)))),
    ),
  };
}

async function runOne(cluster: TestCluster, profile: string, p: Plan): Promise<Run> {
  const what = `${profile} x${p.trainers} ${p.mode}${p.transport ? ` ${p.transport}` : ''}`;
  if (p.mode === 'independent' || p.mode === 'independent-shard') {
    const batchSize = p.mode === 'independent' ? JOB.batchSize : JOB.batchSize / p.trainers;
    const jobs = await Promise.all(
      Array.from({ length: p.trainers }, () => finished(cluster, { ...JOB, batchSize, replicas: 1 }, what)),
    );
    const rate = jobs.reduce((sum, j) => sum + rateOf(j.records), 0);
    return {
      profile,
      trainers: p.trainers,
      sync: `${p.trainers} independent 1-replica jobs at batch ${batchSize}`,
      globalBatch: batchSize,
      imagesPerSec: Math.round(rate),
    };
  }
  const sync = p.mode === 'local' ? { every: EVERY } : 'step';
  // Weak scaling: 64 per replica, the rate linear in the replicas after a one-epoch warmup.
  const scaling = p.mode === 'weak' ? { batchPerReplica: JOB.batchSize } : undefined;
  const spec: JobSpecInput = {
    ...JOB,
    replicas: p.trainers,
    sync,
    ...(p.transport && { transport: p.transport }),
    ...(scaling && { scaling }),
  };
  const job = await finished(cluster, spec, what);
  const label =
    p.mode === 'local' ? `local every ${EVERY}` : p.mode === 'weak' ? `step, ${JOB.batchSize} per replica` : 'step';
  const globalBatch = p.mode === 'weak' ? JOB.batchSize * p.trainers : JOB.batchSize;
  return {
    profile,
    trainers: p.trainers,
    sync: label,
    transport: p.transport,
    globalBatch,
    imagesPerSec: Math.round(rateOf(job.records)),
    testAcc: job.records.at(-1)!.testAcc,
    split: splitOf(cluster, job.id),
  };
}

/** PyTorch DDP on loopback, one thread per rank, the same job shape: the yardstick. */
function torchDdp(): Run[] {
  if (process.env.BENCH_TORCH === '0') return [];
  const python = findTorchPython();
  if (!python) {
    process.stderr.write(`PyTorch DDP: skipped (${TORCH_MISSING})\n`);
    return [];
  }
  const shape = ['--model', JOB.model, '--epochs', String(JOB.epochs), '--images', String(JOB.trainLimit)];
  const runs: Run[] = [];
  for (const [world, extra, label] of [
    [1, ['--batch', '64'], 'DDP step'],
    [2, ['--batch', '64'], 'DDP step'],
    [2, ['--batch-per-rank', '64'], 'DDP, 64 per rank'],
  ] as const) {
    const r = runTorchDdp(python, [...shape, '--world', String(world), ...extra]);
    if ('error' in r) throw new Error(r.error);
    runs.push({
      profile: 'loopback',
      trainers: world,
      sync: label,
      transport: 'gloo',
      globalBatch: r.globalBatch,
      imagesPerSec: r.imagesPerSec,
    });
    process.stderr.write(`pytorch x${world} ${label}: ${r.imagesPerSec} img/s (${r.imagesPerSecByEpoch.join(', ')})\n`);
  }
  const base = runs[0]!.imagesPerSec;
  for (const r of runs) r.ratio = r2(r.imagesPerSec / base);
  return runs;
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
    const plan = PLAN.filter(
      (p) => (p.profiles === 'all' || !limited) && (!MODES || p.trainers === 1 || MODES.has(p.mode)),
    );
    const most = Math.max(...plan.map((p) => p.trainers));
    let hosts: VirtualHosts | undefined;
    if (limited) hosts = await createVirtualHosts({ hosts: most, rate: profile });
    const cluster = await startTestCluster({ trainers: most, env: SINGLE_THREAD_ENV, hosts });
    try {
      for (const p of plan) {
        const run = await runOne(cluster, profile, p);
        const base = runs.find((r) => r.profile === profile && r.trainers === 1 && r.transport !== 'gloo');
        if (base) run.ratio = r2(run.imagesPerSec / base.imagesPerSec);
        runs.push(run);
        backend ||= (await cluster.client.trainers.list())[0]?.backend ?? '';
        const acc = run.testAcc === undefined ? '' : `, test acc ${(run.testAcc * 100).toFixed(2)}%`;
        const over = run.transport ? ` over ${run.transport}` : '';
        const ratio = run.ratio ? ` (${run.ratio}x)` : '';
        const split = run.split ? `, ${JSON.stringify(run.split)}` : '';
        process.stderr.write(
          `${profile} x${p.trainers} ${run.sync}${over}: ${run.imagesPerSec} img/s${ratio}${acc}${split}\n`,
        );
      }
    } finally {
      await cluster.stop();
      await hosts?.stop();
    }
    // The yardstick right after our loopback runs, on the same machine and threads.
    if (profile === 'loopback') runs.push(...torchDdp());
  }
  const out = {
    bench: 'cluster',
    method:
      'median training images/s of epochs 2..N (rank 0, evaluation excluded), ' +
      'trainers and DDP ranks on one thread each',
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
