import { availableParallelism, cpus } from 'node:os';
import { artifactKeys, parseMetricsJsonl, type JobSpecInput } from '@mnist/protocol';
import { getText } from '@mnist/storage';
import { startTestCluster } from '../test/harness.js';
import { benchJob, median, SINGLE_THREAD_ENV } from './bench-job.js';

/**
 * `npm run bench:elastic`: what a grow buys on this machine. For each sync mode, one lenet5
 * job with the replica range 1:2 starts on a cluster of one trainer; a second trainer starts
 * once epoch GROW_AFTER is recorded, and the job takes it at its next epoch end. Prints each
 * epoch's training images/s (`metrics.jsonl`, evaluation excluded) with the ranks it ran on
 * (the job's `resize` events), and the ratio of the warm 2-rank epochs to the warm 1-rank
 * ones: epoch 1 and the first epoch after the grow (a newcomer's warm-up) are left out.
 * Every trainer runs on one thread, pinned to a CPU of its own (BENCH_PIN_CPUS=0 leaves
 * placement to the scheduler). Also says in which epoch the second trainer was ready and at
 * which epoch the job grew. Prints one JSON object.
 *
 * BENCH_TRAIN_LIMIT (default 12800), BENCH_EPOCHS (default 8), BENCH_GROW_AFTER (default 3),
 * BENCH_SYNCS (default step,local:16,local:64) change the plan.
 */
const JOB = { ...benchJob(8, 2_000), minReplicas: 1, replicas: 2 } as const;
const GROW_AFTER = Number(process.env.BENCH_GROW_AFTER ?? 3);
const SYNCS = (process.env.BENCH_SYNCS ?? 'step,local:16,local:64').split(',');
const PIN_CPUS = process.env.BENCH_PIN_CPUS !== '0';

/** `step` or `local:H`, as the CLI's --sync takes it. */
const syncOf = (s: string): JobSpecInput['sync'] => (s === 'step' ? 'step' : { every: Number(s.split(':')[1]) });

async function runOne(sync: string) {
  const cluster = await startTestCluster({ trainers: 1, env: SINGLE_THREAD_ENV, pinCpus: PIN_CPUS });
  try {
    const job = await cluster.submit({ ...JOB, sync: syncOf(sync) });
    await cluster.waitForJob(job.id, (r) => r.epoch >= GROW_AFTER, 600_000);
    await cluster.spawn('t2');
    // The epoch the job was in when the second trainer was ready to be recruited.
    const readyInEpoch = (await cluster.client.jobs.get(job.id))!.epoch + 1;
    const final = await cluster.waitForFinal(job.id, 1_800_000);
    if (final.state !== 'succeeded') throw new Error(`${sync}: ${final.state}: ${final.message}`);
    const records = parseMetricsJsonl((await getText(cluster.jobStore(job.id), artifactKeys.metrics)) ?? '');
    const grownAt: number[] = [];
    for await (const { event } of cluster.client.events.follow(job.id, { untilFinal: true }))
      if (event.type === 'resize' && event.to > event.from) grownAt.push(event.epoch);
    const grew = grownAt[0] ?? Infinity;
    const epochs = records.map((r) => ({
      epoch: r.epoch,
      ranks: r.epoch >= grew ? 2 : 1,
      imagesPerSec: Math.round(r.imagesPerSec),
    }));
    const one = median(epochs.filter((e) => e.ranks === 1 && e.epoch > 1).map((e) => e.imagesPerSec));
    const two = median(epochs.filter((e) => e.ranks === 2 && e.epoch > grew).map((e) => e.imagesPerSec));
    const run = {
      sync,
      secondTrainerReadyInEpoch: readyInEpoch,
      grewAtEpoch: Number.isFinite(grew) ? grew : undefined,
      epochs,
      oneRank: Math.round(one),
      twoRanks: Math.round(two),
      ratio: one > 0 && two > 0 ? Number((two / one).toFixed(2)) : undefined,
      testAcc: records.at(-1)?.testAcc,
    };
    const ratio = run.ratio === undefined ? 'no warm epoch on 2 ranks' : `${run.ratio}x`;
    process.stderr.write(`${sync}: 1 rank ${run.oneRank} img/s, 2 ranks ${run.twoRanks} (${ratio})\n`);
    return run;
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const runs = [];
  for (const sync of SYNCS) runs.push(await runOne(sync));
  const out = {
    bench: 'elastic-grow',
    method:
      'one 1:2 job per sync mode on one trainer, a second trainer started after epoch ' +
      `${GROW_AFTER}; median training images/s of the warm 1-rank and 2-rank epochs`,
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown' },
    job: { ...JOB, growAfter: GROW_AFTER, pinnedCpus: PIN_CPUS },
    runs,
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:elastic: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
