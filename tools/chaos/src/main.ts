import { connectNats, openCluster } from '@mnist/cluster';
import { sleep } from '@mnist/core';
import { isFinalState } from '@mnist/protocol';
import { S3Store } from '@mnist/storage';
import { S3RVER_CREDENTIALS } from '@mnist/testing';
import { startFleet } from './fleet.js';
import { consumerCount, gather, liveConsumers, liveConsumersWithin, rssMb } from './gather.js';
import { judge } from './judge.js';
import { HELP, parseOptions } from './options.js';
import { makeSchedule, type FaultKind } from './schedule.js';
import { startWorkload } from './workload.js';

const say = (line: string) => process.stderr.write(`chaos: ${line}\n`);

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  if (o.help) return (console.log(HELP), 0);
  const durationMs = Math.round(o.minutes * 60_000);
  say(`seed ${o.seed}, ${o.minutes} min; starting the fleet`);
  const fleet = await startFleet({ trainers: 3, natsNodes: 3, apis: 2, ...(o.logs && { logs: o.logs }) });
  const schedule = makeSchedule(o.seed, durationMs, { kinds: fleet.kinds });
  const where = fleet.hosts ? 'on hosts of their own' : 'on 127.0.0.1 (no link cuts)';
  say(`${schedule.length} faults scheduled; trainers ${where}`);
  // Ctrl-C: no nats-server, s3rver, API or trainer left behind.
  process.once('SIGINT', () => {
    fleet.stop().then(
      () => process.exit(130),
      () => process.exit(130),
    );
  });
  const nc = await connectNats({ servers: fleet.nats.url.split(','), name: 'chaos-checker', reconnectTimeWaitMs: 200 });
  try {
    const cluster = await openCluster(nc, { ensureResources: false });
    const baseline = (await consumerCount(nc)) ?? 0;
    const consumers = { baseline, max: baseline, end: baseline };
    let maxRssMb = 0;
    const sampler = setInterval(() => {
      consumerCount(nc)
        .then((n) => (consumers.max = Math.max(consumers.max, n ?? 0)))
        .catch(() => undefined);
      for (const pid of fleet.pids()) maxRssMb = Math.max(maxRssMb, rssMb(pid));
    }, 5_000);

    const started = Date.now();
    const workload = startWorkload(fleet.apiUrl, { seed: o.seed, gapMs: [3_000, 6_000] });
    const faults: Record<string, number> = {};
    const missed: Record<string, number> = {};
    const downMs: Partial<Record<FaultKind, number>> = {};
    for (const f of schedule) {
      await sleep(Math.max(0, started + f.at - Date.now()));
      say(`${Math.round((Date.now() - started) / 1000)} s: ${f.kind} #${f.target} for ${f.ms} ms`);
      const t0 = Date.now();
      const { hit } = await fleet.inject(f);
      (hit ? faults : missed)[f.kind] = ((hit ? faults : missed)[f.kind] ?? 0) + 1;
      // Time until the fault is undone: the node back and healthy, the trainer replaced and ready.
      downMs[f.kind] = Math.max(downMs[f.kind] ?? 0, Date.now() - t0 - f.ms);
    }
    await sleep(Math.max(0, started + durationMs - Date.now()));
    say(`faults over; settling for up to ${o.settleSeconds} s`);
    await workload.stop(30_000);
    const deadline = Date.now() + o.settleSeconds * 1_000;
    for (;;) {
      const records = await cluster.jobs.list().catch(() => []);
      const final = new Set(records.filter((r) => isFinalState(r.state)).map((r) => r.id));
      const open = workload.jobs.filter((s) => s.id && !final.has(s.id));
      // Final jobs whose publish is still owed keep their task until it is done.
      const owed = await Promise.all([...final].map((id) => cluster.tasks.has(id).catch(() => true)));
      if ((open.length === 0 && !owed.includes(true)) || Date.now() > deadline) break;
      await sleep(2_000);
    }
    clearInterval(sampler);
    await sleep(1_000); // the last event streams and watches close
    // The end count decides an invariant: asked again while the broker does not answer, and
    // if it never does, recorded as -1 with the reason, which the checker counts as a violation.
    const end = await liveConsumersWithin(nc, 60_000);
    consumers.end = typeof end === 'number' ? end : -1;
    if (typeof end === 'string') say(`consumers at the end not counted: ${end}`);

    const s3 = await S3Store.connect({
      ...fleet.s3.env,
      bucket: fleet.s3.env.S3_BUCKET!,
      region: 'us-east-1',
      endpoint: fleet.s3.endpoint,
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    });
    const history = await gather(cluster, s3, workload.jobs, {
      writes: fleet.proxy.requests,
      consumers,
      maxRssMb,
      sweepsNotAccepted: workload.unacceptedSweeps(),
    });
    s3.destroy();
    const violations = judge(history);
    const states: Record<string, number> = {};
    for (const j of history.jobs)
      states[j.record?.state ?? 'unaccepted'] = (states[j.record?.state ?? 'unaccepted'] ?? 0) + 1;
    const attempts = history.jobs.map((j) => j.record?.attempt ?? 0);
    console.log(
      JSON.stringify(
        {
          seed: o.seed,
          minutes: o.minutes,
          hosts: fleet.hosts,
          wallSeconds: Math.round((Date.now() - started) / 1000),
          jobs: {
            submitted: workload.jobs.length,
            byState: states,
            retriedAttempts: attempts.filter((a) => a > 1).length,
            maxAttempt: Math.max(0, ...attempts),
          },
          faults: {
            injected: Object.values(faults).reduce((a, b) => a + b, 0),
            byKind: faults,
            missed,
            kinds: Object.keys(faults).length,
            slowestUndoMs: downMs,
          },
          consumers: { ...consumers, ...(await liveConsumers(nc).catch(() => ({}))) },
          trainers: (await cluster.trainers.list().catch(() => [])).map(
            (t) => `${t.id}:${t.state}${t.jobId ? `:${t.jobId}` : ''}`,
          ),
          notSucceeded: history.jobs
            .filter((j) => j.record && j.record.state !== 'succeeded')
            .map((j) => `${j.id} ${j.record!.state} a${j.record!.attempt}: ${j.record!.message ?? ''}`),
          maxRssMb,
          s3Writes: history.writes.length,
          violations,
        },
        null,
        2,
      ),
    );
    return violations.length === 0 ? 0 : 1;
  } finally {
    await nc.close().catch(() => undefined);
    await fleet.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`chaos: ${(err as Error).message}`);
    process.exit(2);
  },
);
