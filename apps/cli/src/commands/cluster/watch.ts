import { ApiError, readSse } from '@mnist/client';
import { isFinalState, JobEventSchema, type EpochRecord, type JobEvent, type JobRecord } from '@mnist/protocol';
import { CliError } from '../../errors.js';
import type { Output } from '../../output.js';
import type { Api } from './api-client.js';
import { resizeLine } from './format.js';

export interface WatchOptions {
  api: Api;
  id: string;
  out: Output;
  signal: AbortSignal;
  /** Keep reconnecting this long while the API cannot be reached (it may be restarting). */
  reconnectForMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The model's title as the seed's table prints it (LeNet5, CustomMLP, ...). */
async function titleOf(model: string): Promise<string> {
  const { MODELS } = await import('@mnist/models');
  return MODELS[model as keyof typeof MODELS]?.title ?? model;
}

/**
 * Follows a job's event stream until it ends: the seed-style table rows (or JSON lines) on
 * stdout as epochs finish, status changes and a progress bar on stderr. Reconnects with
 * Last-Event-ID when the connection drops, so nothing is missed or printed twice; any API
 * replica can take over. Resolves with the final record.
 */
export async function watchJob(o: WatchOptions): Promise<JobRecord> {
  const { api, id, out, signal } = o;
  const sleep = o.sleep ?? pause;
  const job = await (await api.call(api.client.v1.jobs[':id'].$get({ param: { id } }))).json();
  const title = await titleOf(job.spec.model);
  const { renderMetricsHeader, renderMetricsRow } = await import('@mnist/report');
  let lastId: string | undefined;
  let printed = 0;
  let lastState: string | undefined;
  let failingSince: number | undefined;
  let lost = false;
  const reconnectForMs = o.reconnectForMs ?? 60_000;

  const onEpoch = (r: EpochRecord) => {
    if (r.epoch <= printed) return; // replayed after a reconnect or a resumed attempt
    if (out.json) out.result(JSON.stringify({ jobId: id, model: job.spec.model, ...r }));
    else {
      if (printed === 0) out.result(renderMetricsHeader());
      out.result(renderMetricsRow(printed === 0 ? title : '', r));
    }
    printed = r.epoch;
  };

  const onStatus = async (e: Extract<JobEvent, { type: 'status' }>) => {
    if (e.state === lastState && !e.message) return;
    lastState = e.state;
    let where = '';
    if (e.state === 'running') {
      const r = await (await api.call(api.client.v1.jobs[':id'].$get({ param: { id } }))).json();
      const trainers = r.trainers.length ? ` on ${r.trainers.join(', ')}` : '';
      const backend = r.backend ? ` (${r.backend})` : '';
      where = `${trainers}${backend}, attempt ${e.attempt}`;
    }
    out.info(`job ${id}: ${e.state}${where}${e.message ? ` (${e.message})` : ''}`);
  };

  const onProgress = (e: Extract<JobEvent, { type: 'progress' }>) => {
    if (out.json || e.imagesPerSec <= 0) return;
    const images = Math.min(e.step * job.spec.batchSize, job.spec.trainLimit ?? Infinity);
    out.progress.step(job.spec.model, job.spec.epochs, {
      epoch: e.epoch,
      step: e.step,
      steps: e.steps,
      images,
      elapsedSec: images / e.imagesPerSec,
      loss: () => e.loss,
    });
  };

  for (;;) {
    let res: Response;
    try {
      res = await api.call(
        api.client.v1.jobs[':id'].events.$get(
          { param: { id } },
          { headers: lastId ? { 'Last-Event-ID': lastId } : {}, init: { signal } },
        ),
      );
    } catch (err) {
      if (signal.aborted) throw new CliError(`stopped watching; the job goes on (mnist watch ${id})`, 130);
      // No status: the API did not answer at all (restarting, network): keep trying for a while.
      const unreachable = err instanceof ApiError && err.status === undefined;
      failingSince ??= Date.now();
      if (!unreachable || Date.now() - failingSince > reconnectForMs) throw err;
      // Said once per outage, and once more when it is over: not once per try.
      if (!lost)
        out.info(`lost the API at ${api.url}; reconnecting for up to ${Math.round(reconnectForMs / 1000)} s...`);
      lost = true;
      await sleep(2_000);
      continue;
    }
    failingSince = undefined;
    if (lost) out.info(`reconnected to the API at ${api.url}`);
    lost = false;
    if (res.status === 204) break; // nothing after lastId, and the job is finished
    let final = false;
    try {
      for await (const m of readSse(res.body!, signal)) {
        if (m.id) lastId = m.id;
        if (m.event === 'error') break; // the server's stream failed: reconnect
        const parsed = JobEventSchema.safeParse(JSON.parse(m.data));
        if (!parsed.success) continue; // a newer server's event kind: skip it
        const e = parsed.data;
        if (e.type === 'epoch') onEpoch(e.record);
        else if (e.type === 'progress') onProgress(e);
        else if (e.type === 'group') {
          const over =
            e.transport === 'tcp' ? 'direct TCP' : `NATS${e.fallbackReason ? ` (fell back: ${e.fallbackReason})` : ''}`;
          if (e.members.length > 1)
            out.info(`job ${id}: attempt ${e.attempt}, ${e.members.length} ranks, gradients over ${over}`);
        } else if (e.type === 'resize') {
          out.info(`job ${id}: ${resizeLine(e)}`);
        } else {
          await onStatus(e);
          if (isFinalState(e.state)) final = true;
        }
      }
    } catch (err) {
      if (signal.aborted) throw new CliError(`stopped watching; the job goes on (mnist watch ${id})`, 130);
      if (!(err instanceof TypeError)) throw err; // a dropped connection mid-body: reconnect
    }
    if (final) break;
    await sleep(1_000);
  }
  out.progress.clear();
  return await (await api.call(api.client.v1.jobs[':id'].$get({ param: { id } }))).json();
}
