import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { isFinalState, type JobEvent, type JobRecord } from '@mnist/protocol';
import type { Logger } from '@mnist/core';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { loadJob } from './job-lookup.js';

export interface EventsOptions {
  /** A comment line this often keeps proxies from closing an idle stream; each tick also re-checks the job. */
  keepAliveMs: number;
  /** Aborts every open stream (graceful shutdown); clients resume elsewhere with Last-Event-ID. */
  shutdown?: AbortSignal;
  log: Logger;
}

/** Last-Event-ID: the stream sequence of the last event the client has; absent = from the start. */
export function parseLastEventId(header: string | undefined): number {
  if (header === undefined || header.trim() === '') return 0;
  if (!/^\d{1,15}$/.test(header.trim())) {
    throw HttpError.badRequest('invalid Last-Event-ID', [{ path: 'Last-Event-ID', message: 'must be the id (a stream sequence number) of an event' }]);
  }
  return Number(header.trim());
}

const statusOf = (r: JobRecord): JobEvent => ({
  type: 'status',
  jobId: r.id,
  state: r.state,
  attempt: r.attempt,
  ...(r.message !== undefined && { message: r.message }),
  at: r.finishedAt ?? r.updatedAt,
});

/**
 * GET /v1/jobs/:id/events — Server-Sent Events: `event:` is the JobEvent type (status,
 * epoch, progress), `data:` the event as JSON, `id:` its stream sequence. A client that
 * reconnects with Last-Event-ID gets exactly the events after it. The stream ends after
 * the job's final status; asking a finished job for events after its last one gets 204,
 * which tells an EventSource to stop reconnecting.
 */
export function eventsRoutes(deps: ApiDeps, o: EventsOptions) {
  const { cluster } = deps;
  return new Hono().get('/:id/events', async (c) => {
    const job = await loadJob(cluster, c.req.param('id'));
    const afterSeq = parseLastEventId(c.req.header('last-event-id'));
    // For a finished job the stream is bounded by its last event (the final status, normally).
    let bound: number | undefined;
    if (isFinalState(job.state)) {
      bound = await cluster.events.lastSeq(job.id);
      if (bound <= afterSeq) return c.body(null, 204);
    }

    return streamSSE(c, async (stream) => {
      const stop = new AbortController();
      const abort = () => stop.abort();
      stream.onAbort(abort);
      c.req.raw.signal.addEventListener('abort', abort, { once: true });
      o.shutdown?.addEventListener('abort', abort, { once: true });
      if (o.shutdown?.aborted || c.req.raw.signal.aborted) abort();
      let sent = afterSeq;
      let finalRecord: JobRecord | undefined;

      // The final status event is published after the record is written, best effort. If it
      // never comes, this check still ends the stream once the record is final and every
      // event up to the last one is out.
      const tick = async () => {
        await stream.write(': keep-alive\n\n');
        if (bound !== undefined) return;
        const r = await cluster.jobs.get(job.id);
        if (!r || !isFinalState(r.state)) return;
        bound = await cluster.events.lastSeq(job.id);
        if (sent >= bound) {
          finalRecord = r;
          stop.abort();
        }
      };
      const timer = setInterval(() => void tick().catch(abort), o.keepAliveMs);

      try {
        let sentFinal = false;
        if (bound === undefined || sent < bound) {
          for await (const { seq, event } of cluster.events.follow(job.id, { afterSeq, signal: stop.signal, untilFinal: true })) {
            await stream.writeSSE({ id: String(seq), event: event.type, data: JSON.stringify(event) });
            sent = seq;
            if (event.type === 'status' && isFinalState(event.state)) sentFinal = true;
            if (bound !== undefined && seq >= bound) break;
          }
        }
        // Ended without the final status event (it was lost): say it from the record, without
        // an id, so a reconnect still resumes after the last real event.
        if (!sentFinal && (finalRecord || !stop.signal.aborted)) {
          const r = finalRecord ?? (await cluster.jobs.get(job.id));
          if (r && isFinalState(r.state)) await stream.writeSSE({ event: 'status', data: JSON.stringify(statusOf(r)) });
        }
      } catch (err) {
        if (!stop.signal.aborted) {
          o.log.warn('sse.failed', { jobId: job.id, requestId: c.get('requestId'), error: err });
          await writeError(stream);
        }
      } finally {
        clearInterval(timer);
        c.req.raw.signal.removeEventListener('abort', abort);
        o.shutdown?.removeEventListener('abort', abort);
      }
    });
  });
}

/** A failure after the response started: tell the client (it may reconnect with Last-Event-ID), no details. */
async function writeError(stream: SSEStreamingApi): Promise<void> {
  await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: 'event stream interrupted; reconnect with Last-Event-ID' }) }).catch(() => undefined);
}
