import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** infra/ of this repository: the shipped Prometheus and Grafana configuration. */
export const INFRA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'infra');
export const DASHBOARDS_DIR = join(INFRA_DIR, 'grafana', 'dashboards');

const TargetSchema = z.object({
  refId: z.string(),
  expr: z.string(),
  instant: z.boolean().optional(),
  datasource: z.object({ uid: z.string() }),
});
const OverrideSchema = z.object({
  matcher: z.object({ id: z.string(), options: z.unknown() }),
  properties: z.array(z.object({ id: z.string(), value: z.unknown() })),
});
const PanelSchema = z.object({
  title: z.string(),
  type: z.string(),
  targets: z.array(TargetSchema).optional(),
  fieldConfig: z.object({ defaults: z.record(z.string(), z.unknown()), overrides: z.array(OverrideSchema) }).optional(),
  transformations: z.array(z.object({ id: z.string(), options: z.record(z.string(), z.unknown()) })).optional(),
  get panels() {
    return z.array(PanelSchema).optional();
  },
});
type Panel = z.infer<typeof PanelSchema>;
const DashboardSchema = z.object({
  title: z.string(),
  templating: z.object({
    list: z.array(z.object({ name: z.string(), type: z.string(), definition: z.string().optional() })),
  }),
  panels: z.array(PanelSchema),
});

/** A dashboard variable filled by `label_values(metric, label)`. */
export interface QueryVariable {
  name: string;
  metric: string;
  label: string;
}

export interface Dashboard {
  file: string;
  title: string;
  /** Every panel that queries, rows flattened. */
  panels: Array<Panel & { targets: z.infer<typeof TargetSchema>[] }>;
  variables: QueryVariable[];
}

/** Every dashboard JSON of infra/grafana/dashboards, parsed. */
export function loadDashboards(dir = DASHBOARDS_DIR): Dashboard[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => {
      const d = DashboardSchema.parse(JSON.parse(readFileSync(join(dir, file), 'utf8')));
      const flat = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
      const variables = d.templating.list.map((v) => {
        const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(v.definition ?? '');
        if (v.type !== 'query' || !m)
          throw new Error(
            `${file}: variable ${v.name}: only label_values(metric, label) query variables are understood here`,
          );
        return { name: v.name, metric: m[1]!, label: m[2]! };
      });
      const panels = flat(d.panels).flatMap((p) => (p.targets?.length ? [{ ...p, targets: p.targets }] : []));
      return { file, title: d.title, panels, variables };
    });
}

/**
 * An expression with Grafana's variables replaced, as Grafana sends it for one selected
 * value per variable (job ids need no regex escaping: [A-Za-z0-9_-]). Throws on a
 * variable it was not given, so a new one cannot slip through untested.
 */
export function fillVariables(expr: string, values: Record<string, string>): string {
  const out = expr.replace(/\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    if (!(name in values)) throw new Error(`no value for ${whole} in ${expr}`);
    return values[name]!;
  });
  return out;
}

/**
 * A value as a Grafana field shows it, for the units and decimals our dashboards set per
 * field name (byName overrides). Throws on a unit it does not know rather than guess.
 */
export function formatField(
  panel: Pick<Dashboard['panels'][number], 'fieldConfig'>,
  field: string,
  value: number,
): string {
  const props = (panel.fieldConfig?.overrides ?? [])
    .filter((o) => o.matcher.id === 'byName' && o.matcher.options === field)
    .flatMap((o) => o.properties);
  const prop = (id: string) => props.find((p) => p.id === id)?.value;
  const decimals = prop('decimals');
  if (typeof decimals !== 'number') throw new Error(`field ${field}: no decimals set, so Grafana picks them itself`);
  const unit = prop('unit') ?? 'none';
  if (unit === 'none') return value.toFixed(decimals);
  if (unit === 'percentunit') return `${(100 * value).toFixed(decimals)}%`;
  if (unit === 'locale')
    return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  throw new Error(`field ${field}: unit ${String(unit)} is not formatted here`);
}
