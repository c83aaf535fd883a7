import type { AppType } from '@mnist/api';
import { createApiClient, type ApiClient } from '@mnist/client';
import { JobIdSchema } from '@mnist/protocol';
import type { CliEnv } from '../../config.js';
import { UsageError } from '../../errors.js';
import type { Values } from '../../flags.js';
import type { Output } from '../../output.js';

/** Flags every cluster verb takes; they override API_URL and API_TOKEN. */
export const API_FLAGS = {
  'api-url': { type: 'string' },
  token: { type: 'string' },
} as const;

export const API_FLAGS_HELP = `API flags:
      --api-url <url>        the cluster API (default API_URL or http://127.0.0.1:8787)
      --token <token>        bearer token, if the API has one (default API_TOKEN)`;

export interface ApiContext {
  env: CliEnv;
  /** Where a retry is announced (stderr); silent without it. */
  out?: Pick<Output, 'info'>;
  /** Tests pass the app's own fetch; the CLI uses the global one. */
  fetch?: typeof fetch;
}

/** The typed client (`hc<AppType>`) for the API named by flags or environment. */
/** The CLI's client: typed by the API's routes (a type import; the CLI never loads @mnist/api). */
export type Api = ApiClient<AppType>;

export function connectApi(values: Values, ctx: ApiContext): Api {
  const raw = (values['api-url'] as string | undefined) ?? ctx.env.API_URL;
  let url: string;
  try {
    url = new URL(raw).toString().replace(/\/+$/, '');
  } catch {
    throw new UsageError(`--api-url: not a URL: '${raw}'`);
  }
  const token = (values.token as string | undefined) ?? ctx.env.API_TOKEN;
  const api = createApiClient<AppType>(url, {
    ...(token && { token }),
    ...(ctx.fetch && { fetch: ctx.fetch }),
    hints: { url: 'Set API_URL or --api-url', token: 'API_TOKEN or --token' },
  });
  // Every verb's reads go through callRetrying: the same rules everywhere, each retry said on stderr.
  const say = (why: string, ms: number) => ctx.out?.info(`${why}; trying again in ${ms / 1000} s`);
  return { ...api, callRetrying: (send, p = {}) => api.callRetrying(send, { onRetry: say, ...p }) };
}

/** A job id from the command line; checked first so that it can only ever be one path segment. */
export function jobIdArg(value: string | undefined, command: string): string {
  if (value === undefined) throw new UsageError(`mnist ${command} needs a job id; list them with 'mnist jobs'`);
  if (!JobIdSchema.safeParse(value).success)
    throw new UsageError(`'${value}' is not a job id (letters, digits, '_' and '-', like j-mwzacsyq-7gxqsgwb)`);
  return value;
}
