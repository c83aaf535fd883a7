import { availableParallelism, cpus } from 'node:os';
import { parseMetricsJsonl, artifactKeys, type EpochRecord, type ModelName } from '@mnist/protocol';
import { getText } from '@mnist/storage';
import { startTestCluster } from '../test/harness.js';

/**
 * `npm run bench:cluster`: training throughput of the same job on 1 and on 2 trainer
 * processes of this machine, through the whole cluster path (NATS all-reduce every step).
 * Prints one JSON object. Epoch 1 is warm-up (backend kernels, dataset load) and is left
 * out of the rate; the rate is rank 0's images per second of training, evaluation excluded.
 */
const JOB = { trainLimit: Number(process.env.BENCH_TRAIN_LIMIT ?? 4096), testLimit: 1000, epochs: 3, batchSize: 64, seed: 1 };
const MODELS: ModelName[] = ['lenet5', 'mlp'];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const cluster = await startTestCluster({ trainers: 2, env: { COLLECTIVE_TIMEOUT_MS: '60000', COLLECTIVE_SLOW_TIMEOUT_MS: '120000' } });
  try {
    const results: Record<string, unknown> = {};
    let backend = '';
    for (const model of MODELS) {
      const rate: Record<number, number> = {};
      for (const replicas of [1, 2]) {
        const job = await cluster.submit({ ...JOB, model, replicas });
        const final = await cluster.waitForFinal(job.id, 900_000);
        if (final.state !== 'succeeded') throw new Error(`${model} x${replicas}: ${final.state}: ${final.message}`);
        const records: EpochRecord[] = parseMetricsJsonl((await getText(cluster.jobStore(job.id), artifactKeys.metrics)) ?? '');
        backend = records[0]?.backend ?? backend;
        rate[replicas] = median(records.slice(1).map((r) => r.imagesPerSec));
        process.stderr.write(`${model} x${replicas}: ${Math.round(rate[replicas]!)} img/s\n`);
      }
      results[model] = {
        trainers1ImagesPerSec: Math.round(rate[1]!),
        trainers2ImagesPerSec: Math.round(rate[2]!),
        ratio: Number((rate[2]! / rate[1]!).toFixed(3)),
      };
    }
    const out = {
      bench: 'cluster',
      machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', backend },
      job: { ...JOB, measuredEpochs: JOB.epochs - 1 },
      results,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } finally {
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:cluster: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
