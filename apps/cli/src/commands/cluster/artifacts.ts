import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { parseFlags } from '../../flags.js';
import { API_FLAGS, API_FLAGS_HELP, connectApi, jobIdArg } from './api-client.js';
import type { ClusterContext } from './context.js';

export const ARTIFACTS_HELP = `Usage: mnist artifacts <job-id> [--out DIR] [--all] [--list] [--json]

Downloads a job's files (metrics.jsonl, spec.json, checkpoints, final-eval.json, ...)
into DIR/<job-id>/ (default DIR: RUNS_DIR, ./runs). The files of the attempt that
finished are under their plain names; --all also fetches every attempt's own folder.

      --out <dir>            where to put them (default RUNS_DIR)
      --all                  also attempts/NNN/... of every attempt
      --list                 list the files, download nothing
      --json                 print the list as JSON
${API_FLAGS_HELP}`;

export async function artifactsCommand(args: string[], ctx: ClusterContext): Promise<number> {
  const flags = {
    ...API_FLAGS,
    out: { type: 'string', short: 'o' },
    all: { type: 'boolean' },
    list: { type: 'boolean' },
    json: { type: 'boolean' },
  } as const;
  const { values, positionals } = parseFlags(args, flags, true);
  if (values.help) return (ctx.out.result(ARTIFACTS_HELP), 0);
  if (positionals.length > 1) throw new UsageError('mnist artifacts takes one job id');
  const id = jobIdArg(positionals[0], 'artifacts');
  const api = connectApi(values, ctx);
  const listing = await (
    await api.callRetrying(() => api.client.v1.jobs[':id'].artifacts.$get({ param: { id } }))
  ).json();
  // A key that could climb out of the folder ('..', empty parts) is never written.
  const safe = (k: string) => k.split('/').every((p) => p !== '' && p !== '.' && p !== '..');
  const keys = listing.artifacts.map((a) => a.key).filter((k) => safe(k) && (values.all || !k.startsWith('attempts/')));
  if (values.list || ctx.out.json) {
    ctx.out.result(ctx.out.json ? JSON.stringify(listing.artifacts) : keys.join('\n'));
    return 0;
  }
  if (keys.length === 0) return (ctx.out.info(`job ${id} has no files yet`), 0);
  const dir = resolve((values.out as string | undefined) ?? ctx.env.RUNS_DIR, id);
  let bytes = 0;
  for (const key of keys) {
    const res = await api.callRetrying(() =>
      api.client.v1.jobs[':id'].artifacts[':key{.+}'].$get({ param: { id, key } }),
    );
    const body = new Uint8Array(await res.arrayBuffer());
    const file = join(dir, ...key.split('/'));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, body);
    bytes += body.length;
  }
  ctx.out.result(dir);
  ctx.out.info(`downloaded ${keys.length} file(s), ${(bytes / 1024).toFixed(1)} KiB, of job ${id} into ${dir}`);
  return 0;
}
