import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { connectNats, natsBus } from '@mnist/cluster';
import { loadDataset } from '@mnist/data';
import { getModel } from '@mnist/models';
import { parseJobSpec } from '@mnist/protocol';
import { freePort, startNatsServer } from '@mnist/testing';
import { createOptimizer, runEpochs, type Collective } from '@mnist/training';
import { selectBackend } from '@mnist/backends';
import { DataPlane } from '../src/collective/data-plane.js';
import { clock } from '../src/collective/stats.js';
import { DataListener } from '../src/collective/tcp/data-listener.js';

/**
 * `npm run bench:split`: where the time of a data-parallel step goes. N ranks (separate
 * processes, one thread each) train the same lenet5 job with the real loop and the trainer's
 * data plane (SPLIT_TRANSPORT: tcp, the default, or nats through a private nats-server);
 * every rank stamps when it enters and leaves each all-reduce on one clock (the
 * collective's `clock`), and the parent joins the stamps:
 *   compute  = step time outside the all-reduce (forward, backward, read-back, update),
 *   skew     = how long a rank waits for the slowest rank to arrive (its peers' compute),
 *   comm     = the last rank's time in the round (publish, broker hops, event loop, sum).
 */
const ARGS = process.argv.slice(2);
const N = Number(process.env.SPLIT_RANKS ?? 2);
const MODEL = (process.env.SPLIT_MODEL ?? 'lenet5') as 'lenet5';
const TRAIN = Number(process.env.SPLIT_TRAIN ?? 4096);
const TRANSPORT = process.env.SPLIT_TRANSPORT === 'nats' ? 'nats' : 'tcp';

interface Stamps {
  enter: number[];
  leave: number[];
  stepEnd: number[];
}

async function child(rank: number, url: string, ports: number[]): Promise<void> {
  const backend = await selectBackend('onednn');
  const spec = parseJobSpec({
    model: MODEL,
    epochs: 2,
    batchSize: 64,
    seed: 1,
    trainLimit: TRAIN,
    testLimit: 100,
    replicas: N,
  });
  const data = await loadDataset({ name: 'mnist', trainLimit: TRAIN, testLimit: 100 });
  const nc = await connectNats({ servers: [url], name: `split-${rank}` });
  const listener = await DataListener.open({
    bind: '127.0.0.1',
    ports: [ports[rank]!, ports[rank]!],
    advertise: '127.0.0.1',
  });
  const endpoints = ports.map((port) => ({ host: '127.0.0.1', port }));
  const mesh = { listener, endpoints, jobId: 'split', attempt: 1, secret: 'split-bench-secret', deadlineMs: 30_000 };
  const signal = new AbortController().signal;
  const inner = await DataPlane.open({
    choice: TRANSPORT,
    bus: natsBus(nc),
    prefix: 'split',
    rank,
    worldSize: N,
    algorithm: 'auto',
    timeoutMs: 60_000,
    slowRoundTimeoutMs: 120_000,
    signal,
    mesh,
  });
  await inner.connect();
  const stamps: Stamps = { enter: [], leave: [], stepEnd: [] };
  const collective: Collective = {
    rank,
    worldSize: N,
    allReduceSum: async (v) => {
      if (v.length <= 2) return inner.allReduceSum(v); // an epoch's sums or evaluation: not a step
      stamps.enter.push(clock());
      const out = await inner.allReduceSum(v);
      stamps.leave.push(clock());
      return out;
    },
  };
  const model = getModel(spec.model).build(spec.seed);
  const optimizer = createOptimizer(spec.optimizer);
  await runEpochs({
    spec,
    data,
    model,
    optimizer,
    collective,
    backend: backend.name,
    startEpoch: 1,
    startStep: 0,
    onStep: () => stamps.stepEnd.push(clock()),
  });
  inner.close();
  listener.close();
  await nc.close();
  process.stdout.write(`STAMPS ${JSON.stringify(stamps)}\n`);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const r2 = (x: number) => Number(x.toFixed(2));

async function parent(): Promise<void> {
  const nats = await startNatsServer();
  const ports = await Promise.all(Array.from({ length: N }, () => freePort()));
  try {
    const self = fileURLToPath(import.meta.url);
    const runs = Array.from({ length: N }, (_, rank) => {
      const pin = process.env.SPLIT_PIN === '1' ? ['taskset', '-c', String(rank % availableParallelism())] : [];
      const [cmd, ...pre] = [...pin, process.execPath];
      const p = spawn(
        cmd!,
        [
          ...pre,
          ...(process.env.SPLIT_TRACE_GC ? ['--trace-gc'] : []),
          '--import',
          'tsx',
          self,
          '--child',
          String(rank),
          nats.url,
          ports.join(','),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'], env: process.env },
      );
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      // Anything else the child printed (e.g. --trace-gc lines) goes to stderr.
      p.on('close', () =>
        process.stderr.write(
          out
            .split('\n')
            .filter((l) => l && !l.startsWith('STAMPS '))
            .map((l) => `[rank ${rank}] ${l}\n`)
            .join(''),
        ),
      );
      return new Promise<Stamps>((resolve, reject) =>
        p.on('close', (code) =>
          code === 0
            ? resolve(
                JSON.parse(
                  out
                    .split('\n')
                    .find((l) => l.startsWith('STAMPS '))!
                    .slice(7),
                ) as Stamps,
              )
            : reject(new Error(`rank ${rank} exited ${code}`)),
        ),
      );
    });
    const ranks = await Promise.all(runs);
    // Epoch 2 only (warm), and not the first round after an epoch end.
    const steps = ranks[0]!.enter.length / 2;
    const from = steps + 1;
    const rounds = Array.from({ length: steps - 1 }, (_, i) => from + i);
    const split = rounds.map((k) => {
      const enters = ranks.map((s) => s.enter[k]!);
      const lastEnter = Math.max(...enters);
      const perRank = ranks.map((s) => ({
        round: s.leave[k]! - s.enter[k]!,
        compute: s.enter[k]! - s.stepEnd[k - 1]!,
        step: s.stepEnd[k]! - s.stepEnd[k - 1]!,
      }));
      return {
        step: mean(perRank.map((p) => p.step)),
        round: mean(perRank.map((p) => p.round)),
        compute: mean(perRank.map((p) => p.compute)),
        skew: mean(enters.map((e) => lastEnter - e)),
        comm: mean(ranks.map((s) => s.leave[k]! - lastEnter)),
      };
    });
    const avg = (f: (x: (typeof split)[number]) => number) => r2(mean(split.map(f)));
    const stepMs = avg((x) => x.step);
    process.stdout.write(
      JSON.stringify({
        bench: 'round-split',
        transport: TRANSPORT,
        model: MODEL,
        ranks: N,
        perRankBatch: 64 / N,
        rounds: rounds.length,
        stepMs,
        imagesPerSec: Math.round((64 / stepMs) * 1000),
        computeMs: avg((x) => x.compute),
        roundMs: avg((x) => x.round),
        skewMs: avg((x) => x.skew),
        commMs: avg((x) => x.comm),
      }) + '\n',
    );
  } finally {
    await nats.stop();
  }
}

if (ARGS[0] === '--child') await child(Number(ARGS[1]), ARGS[2]!, ARGS[3]!.split(',').map(Number));
else await parent();
