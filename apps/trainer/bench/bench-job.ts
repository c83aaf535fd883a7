/** What the cluster benches share: the job they time, the trainers' threads, the rate's statistic. */

/** lenet5 at batch 64 on BENCH_TRAIN_LIMIT images an epoch (12,800), for BENCH_EPOCHS epochs (`epochs` by default). */
export const benchJob = (epochs: number, testLimit: number) =>
  ({
    model: 'lenet5',
    trainLimit: Number(process.env.BENCH_TRAIN_LIMIT ?? 12_800),
    testLimit,
    epochs: Number(process.env.BENCH_EPOCHS ?? epochs),
    batchSize: 64,
    seed: 1,
  }) as const;

/** Every trainer on one thread, so N of them get N cores' worth at most; rounds may wait long on a busy machine. */
export const SINGLE_THREAD_ENV = {
  TFJS_ONEDNN_THREADS: 'single',
  OMP_NUM_THREADS: '1',
  COLLECTIVE_TIMEOUT_MS: '60000',
  COLLECTIVE_SLOW_TIMEOUT_MS: '300000',
};

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? 0 : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
