import { readSse } from '@mnist/client';
import { LogLineSchema, type LogLine } from '@mnist/protocol';
import { UsageError } from '../../errors.js';
import { parseFlags } from '../../flags.js';
import { API_FLAGS, API_FLAGS_HELP, connectApi, jobIdArg } from './api-client.js';
import type { ClusterContext } from './context.js';

export const LOGS_HELP = `Usage: mnist logs <job-id> [--follow] [--limit <n>] [--json]

A job's trainer log lines, every rank, oldest first: time, attempt, rank, trainer, level
and the line. The cluster keeps the newest ${'10,000'} lines of each job.

  -f, --follow               keep printing new lines until the job ends (Ctrl-C stops)
      --limit <n>            at most the newest n lines (default 1000)
      --json                 one LogLine JSON object per line
${API_FLAGS_HELP}`;

/** `12:03:04 a1 r0 t1 info  epoch.done epoch=3 ...`: one line, columns first. */
export function formatLogLine(l: LogLine): string {
  const time = l.ts.slice(11, 19);
  return `${time} a${l.attempt} r${l.rank} ${l.trainerId} ${l.level.padEnd(5)} ${l.text}`;
}

export async function logsCommand(args: string[], ctx: ClusterContext): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    { ...API_FLAGS, json: { type: 'boolean' }, follow: { type: 'boolean', short: 'f' }, limit: { type: 'string' } },
    true,
  );
  if (values.help) return (ctx.out.result(LOGS_HELP), 0);
  if (positionals.length > 1) throw new UsageError('mnist logs takes one job id');
  const id = jobIdArg(positionals[0], 'logs');
  const limit = (values.limit as string | undefined) ?? '1000';
  if (!/^\d+$/.test(limit) || Number(limit) < 1)
    throw new UsageError(`--limit '${limit}': expects a positive whole number`);
  const api = connectApi(values, ctx);
  const print = (l: LogLine) => ctx.out.result(ctx.out.json ? JSON.stringify(l) : formatLogLine(l));
  if (!values.follow) {
    // The route also streams (follow), so its typed answer is untyped: the shape is LogLine[].
    const { lines } = (await (
      await api.callRetrying(() => api.client.v1.jobs[':id'].logs.$get({ param: { id }, query: { limit } }))
    ).json()) as { lines: LogLine[] };
    if (lines.length === 0) ctx.out.info(`job ${id} has no log lines yet`);
    lines.forEach(print);
    return 0;
  }
  const res = await api.callRetrying(() =>
    api.client.v1.jobs[':id'].logs.$get(
      { param: { id }, query: { limit, follow: '1' } },
      { init: { signal: ctx.signal } },
    ),
  );
  try {
    for await (const m of readSse(res.body!, ctx.signal)) {
      if (m.event !== 'log') continue;
      const line = LogLineSchema.safeParse(JSON.parse(m.data));
      if (line.success) print(line.data);
    }
  } catch (err) {
    if (!ctx.signal.aborted) throw err;
  }
  return ctx.signal.aborted ? 130 : 0;
}
