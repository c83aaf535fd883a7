import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { streamStop } from './stream-stop.js';
import { validator } from 'hono/validator';
import { z } from 'zod';
import { isFinalState, specIssues } from '@mnist/protocol';
import type { Logger } from '@mnist/core';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { parseLastEventId } from './events.js';
import { loadJob } from './job-lookup.js';

export interface LogsOptions {
  /** A comment line this often keeps proxies from closing an idle stream; each tick also re-checks the job. */
  keepAliveMs: number;
  /** Aborts every open stream (graceful shutdown). */
  shutdown?: AbortSignal;
  log: Logger;
}

const LogsQuery = z.object({
  since: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  follow: z.enum(['1', 'true', '0', 'false']).optional(),
});

const logsQuery = validator('query', (value) => {
  const parsed = LogsQuery.safeParse(value);
  if (!parsed.success) throw HttpError.badRequest('invalid query', specIssues(parsed.error));
  return parsed.data;
});

/**
 * GET /v1/jobs/:id/logs — a job's trainer log lines (every rank, each tagged with its rank
 * and attempt), newest last: `{ lines }`, the newest `limit` after `since` (a line's seq).
 * With `follow=1`, Server-Sent Events instead: those lines, then new ones as they come
 * (`event: log`, `id:` the seq, so a reconnect with Last-Event-ID resumes), ending a little
 * after the job has finished.
 */
export function logsRoutes(deps: ApiDeps, o: LogsOptions) {
  const { cluster } = deps;
  return new Hono().get('/:id/logs', logsQuery, async (c) => {
    const job = await loadJob(cluster, c.req.param('id'));
    const q = c.req.valid('query');
    const afterSeq =
      c.req.header('last-event-id') !== undefined ? parseLastEventId(c.req.header('last-event-id')) : q.since;
    const lines = await cluster.logs.tail(job.id, { ...(afterSeq !== undefined && { afterSeq }), limit: q.limit });
    if (q.follow !== '1' && q.follow !== 'true') return c.json({ lines }, 200);

    return streamSSE(c, async (stream) => {
      const stop = streamStop(stream, c.req.raw.signal, o.shutdown);
      const abort = stop.abort;
      // A finished job's last lines may still be on their way: end on the second tick that finds it finished.
      let finishedTicks = 0;
      const tick = async () => {
        await stream.write(': keep-alive\n\n');
        const r = await cluster.jobs.get(job.id);
        if (r && isFinalState(r.state) && ++finishedTicks >= 2) abort();
      };
      const timer = setInterval(() => void tick().catch(abort), o.keepAliveMs);
      try {
        let sent = afterSeq ?? 0;
        for (const line of lines) {
          await stream.writeSSE({ id: String(line.seq), event: 'log', data: JSON.stringify(line) });
          sent = line.seq;
        }
        for await (const line of cluster.logs.follow(job.id, { afterSeq: sent, signal: stop.signal })) {
          await stream.writeSSE({ id: String(line.seq), event: 'log', data: JSON.stringify(line) });
        }
      } catch (err) {
        if (!stop.signal.aborted) {
          o.log.warn('sse.logs_failed', { jobId: job.id, requestId: c.get('requestId'), error: err });
          await stream
            .writeSSE({
              event: 'error',
              data: JSON.stringify({ error: 'log stream interrupted; reconnect with Last-Event-ID' }),
            })
            .catch(() => undefined);
        }
      } finally {
        clearInterval(timer);
        stop.release();
      }
    });
  });
}
