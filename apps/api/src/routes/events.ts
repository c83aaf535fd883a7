import { Hono } from 'hono';
import { streamSSE, type SSEMessage, type SSEStreamingApi } from 'hono/streaming';
import { streamStop } from './stream-stop.js';
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
    throw HttpError.badRequest('invalid Last-Event-ID', [
      { path: 'Last-Event-ID', message: 'must be the id (a stream sequence number) of an event' },
    ]);
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
    // HEAD: GET's headers without opening a follow (and a broker consumer) nobody reads.
    if (c.req.method === 'HEAD')
      return c.body(null, 200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });

    return streamSSE(c, async (stream) => {
      const stop = streamStop(stream, c.req.raw.signal, o.shutdown);
      const abort = stop.abort;
      const stall = stallWatch(stream);
      let sent = afterSeq;
      let finalRecord: JobRecord | undefined;

      // The final status event is published after the record is written, best effort. If it
      // never comes, this check still ends the stream once the record is final and every
      // event up to the last one is out.
      const tick = async () => {
        // A client that stopped reading without closing (or whose close never reached this
        // runtime: workerd behind a Durable Object) leaves a write pending: release it.
        if (stall.stalledFor() >= o.keepAliveMs) {
          o.log.info('sse.client_stalled', { jobId: job.id, requestId: c.get('requestId') });
          stream.abort();
          return;
        }
        await stall.write(': keep-alive\n\n');
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
          for await (const { seq, event } of cluster.events.follow(job.id, {
            afterSeq,
            signal: stop.signal,
            untilFinal: true,
          })) {
            await stall.writeSSE({ id: String(seq), event: event.type, data: JSON.stringify(event) });
            sent = seq;
            if (event.type === 'status' && isFinalState(event.state)) sentFinal = true;
            if (bound !== undefined && seq >= bound) break;
          }
        }
        // Ended without the final status event (it was lost): say it from the record, without
        // an id, so a reconnect still resumes after the last real event.
        if (!sentFinal && (finalRecord || !stop.signal.aborted)) {
          const r = finalRecord ?? (await cluster.jobs.get(job.id));
          if (r && isFinalState(r.state)) await stall.writeSSE({ event: 'status', data: JSON.stringify(statusOf(r)) });
        }
      } catch (err) {
        if (!stop.signal.aborted) {
          o.log.warn('sse.failed', { jobId: job.id, requestId: c.get('requestId'), error: err });
          await writeError(stream);
        }
      } finally {
        clearInterval(timer);
        stop.release();
      }
    });
  });
}

/**
 * Writes that remember since when one has been pending. Hono's stream swallows write errors
 * and a write to a client that does not read waits forever; `stream.abort()` (on a stall)
 * cancels the body, which settles every pending write.
 */
function stallWatch(stream: SSEStreamingApi) {
  let pending = 0;
  let since = 0;
  const track = async (write: Promise<unknown>) => {
    if (pending++ === 0) since = Date.now();
    try {
      await write;
    } finally {
      pending--;
      since = Date.now();
    }
  };
  return {
    write: (text: string) => track(stream.write(text)),
    writeSSE: (m: SSEMessage) => track(stream.writeSSE(m)),
    stalledFor: () => (pending > 0 ? Date.now() - since : 0),
  };
}

/** A failure after the response started: tell the client (it may reconnect with Last-Event-ID), no details. */
async function writeError(stream: SSEStreamingApi): Promise<void> {
  await stream
    .writeSSE({
      event: 'error',
      data: JSON.stringify({ error: 'event stream interrupted; reconnect with Last-Event-ID' }),
    })
    .catch(() => undefined);
}
