/** The few calls of Prometheus' HTTP API (v1) the tests make, the way Grafana makes them. */

export interface Series {
  metric: Record<string, string>;
  /** [unix seconds, value as text]; an instant query has one. */
  values: Array<[number, string]>;
}

interface Envelope<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

async function get<T>(base: string, path: string, params: Array<[string, string]>): Promise<T> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as Envelope<T>;
  if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error ?? res.status}`);
  return body.data;
}

type VectorOrMatrix =
  | { resultType: 'vector'; result: Array<{ metric: Record<string, string>; value: [number, string] }> }
  | { resultType: 'matrix'; result: Series[] };

const toSeries = (d: VectorOrMatrix): Series[] =>
  d.resultType === 'vector' ? d.result.map((r) => ({ metric: r.metric, values: [r.value] })) : d.result;

export function createPromClient(base: string) {
  return {
    /** An instant query at `time` (default: now). */
    query: async (expr: string, time?: number): Promise<Series[]> =>
      toSeries(
        await get<VectorOrMatrix>(base, '/api/v1/query', [
          ['query', expr],
          ...(time === undefined ? [] : ([['time', String(time)]] as Array<[string, string]>)),
        ]),
      ),
    /** A range query, as a Grafana time-series panel sends it. */
    queryRange: async (expr: string, start: number, end: number, step: number): Promise<Series[]> =>
      toSeries(
        await get<VectorOrMatrix>(base, '/api/v1/query_range', [
          ['query', expr],
          ['start', String(start)],
          ['end', String(end)],
          ['step', String(step)],
        ]),
      ),
    /** What Grafana's `label_values(metric, label)` asks for. */
    labelValues: (label: string, match: string, start: number, end: number): Promise<string[]> =>
      get<string[]>(base, `/api/v1/label/${encodeURIComponent(label)}/values`, [
        ['match[]', match],
        ['start', String(start)],
        ['end', String(end)],
      ]),
    /** Names of the loaded alerting rules. */
    alertNames: async (): Promise<string[]> => {
      const d = await get<{ groups: Array<{ rules: Array<{ type: string; name: string }> }> }>(base, '/api/v1/rules', [
        ['type', 'alert'],
      ]);
      return d.groups.flatMap((g) => g.rules.map((r) => r.name));
    },
  };
}

export type PromClient = ReturnType<typeof createPromClient>;

export const hasFiniteValue = (s: Series[]): boolean =>
  s.some((x) => x.values.some(([, v]) => Number.isFinite(Number(v))));
