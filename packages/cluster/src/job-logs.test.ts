import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { createLogger, teeLogger } from '@mnist/core';
import { LOG_LIMITS, NATS_NAMES, type LogLine } from '@mnist/protocol';
import { startTestBroker, type TestBroker } from '../test/test-broker.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker?.[Symbol.asyncDispose]();
});

describe('job logs (real nats-server)', () => {
  it("a trainer's log tap keeps job-scoped lines with rank and attempt; tail and follow read them back", async () => {
    const { cluster, nc } = broker;
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(NATS_NAMES.logsStream)).config).toMatchObject({
      max_msgs_per_subject: LOG_LIMITS.linesPerJob,
      storage: 'file',
      discard: 'old',
    });
    const log = teeLogger(createLogger({}, { write: () => undefined }), cluster.logs.sink('t7'));
    log.info('trainer.ready'); // names no job: not kept
    const rank = log.child({ jobId: 'j-logs', attempt: 2, rank: 1 });
    for (let epoch = 1; epoch <= 5; epoch++) rank.info('epoch.done', { epoch, testAcc: 0.9 });
    rank.warn('slow.step', { ms: 1200 });
    log.child({ jobId: 'j-other' }).info('x');
    await nc.flush();

    const all = await cluster.logs.tail('j-logs', { limit: 100 });
    expect(all).toHaveLength(6);
    expect(all[0]).toMatchObject({
      attempt: 2,
      rank: 1,
      trainerId: 't7',
      level: 'info',
      event: 'epoch.done',
      text: 'epoch.done epoch=1 testAcc=0.9',
    });
    expect(all.at(-1)).toMatchObject({ level: 'warn', text: 'slow.step ms=1200' });
    const newest = await cluster.logs.tail('j-logs', { limit: 2 });
    expect(newest.map((l) => l.text)).toEqual(['epoch.done epoch=5 testAcc=0.9', 'slow.step ms=1200']);
    expect(await cluster.logs.tail('j-logs', { afterSeq: all.at(-1)!.seq, limit: 10 })).toEqual([]);
    expect(await cluster.logs.tail('j-none', { limit: 10 })).toEqual([]);

    // follow: what is there after `afterSeq`, then live.
    const stop = new AbortController();
    const seen: LogLine[] = [];
    const following = (async () => {
      for await (const l of cluster.logs.follow('j-logs', { afterSeq: all[3]!.seq, signal: stop.signal })) {
        seen.push(l);
        if (seen.length === 3) stop.abort();
      }
    })();
    rank.error('rank.failed', { error: new Error('boom') });
    await following;
    expect(seen.map((l) => l.text)).toEqual([
      'epoch.done epoch=5 testAcc=0.9',
      'slow.step ms=1200',
      'rank.failed error="boom"',
    ]);
  });
});
