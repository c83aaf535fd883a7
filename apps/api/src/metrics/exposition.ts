/**
 * Prometheus text exposition (format 0.0.4) without dependencies: prom-client needs Node
 * built-ins (and its default metrics call process.cpuUsage), so the metrics both shells
 * serve are rendered here; only the Node shell appends prom-client's process metrics.
 */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string>>;
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface Sample {
  /** Appended to the family's name (`_bucket`, `_sum`, `_count`), empty for plain samples. */
  suffix?: string;
  labels?: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

/** The text of several families: HELP and TYPE once per family, then its samples. */
export function renderExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples)
      lines.push(`${f.name}${s.suffix ?? ''}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return lines.join('\n') + '\n';
}

/** Series are keyed by their label values in a fixed order, so `{a,b}` and `{b,a}` are one. */
const seriesKey = (labels: Labels) =>
  JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );

/** A monotonically increasing count per label set. */
export class Counter {
  private readonly series = new Map<string, { labels: Labels; value: number }>();
  /** `labelled`: series come with labels, so there is no unlabelled 0 before the first increment. */
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelled = false,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = seriesKey(labels);
    const s = this.series.get(key) ?? { labels, value: 0 };
    s.value += by;
    this.series.set(key, s);
  }

  family(): MetricFamily {
    const samples = [...this.series.values()].map(({ labels, value }) => ({ labels, value }));
    // A counter without labels reads 0 before its first increment, as prom-client's does.
    if (samples.length === 0 && !this.labelled) samples.push({ labels: {}, value: 0 });
    return { name: this.name, help: this.help, type: 'counter', samples };
  }
}

/** Observations counted in cumulative `le` buckets, with their sum and count. */
export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = seriesKey(labels);
    const s = this.series.get(key) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.buckets.forEach((le, i) => value <= le && s.counts[i]!++);
    s.sum += value;
    s.count++;
    this.series.set(key, s);
  }

  family(): MetricFamily {
    const samples: Sample[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((le, i) =>
        samples.push({ suffix: '_bucket', labels: { ...s.labels, le: formatValue(le) }, value: s.counts[i]! }),
      );
      samples.push({ suffix: '_bucket', labels: { ...s.labels, le: '+Inf' }, value: s.count });
      samples.push({ suffix: '_sum', labels: s.labels, value: s.sum });
      samples.push({ suffix: '_count', labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', samples };
  }
}
