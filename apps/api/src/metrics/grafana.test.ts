import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPrometheus } from './prometheus.js';

const INFRA = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'infra');
const dashboard = JSON.parse(readFileSync(join(INFRA, 'grafana', 'dashboards', 'mnist-fleet.json'), 'utf8')) as {
  panels: Array<{ type: string; title: string; datasource?: { uid: string }; targets?: Array<{ expr: string; datasource: { uid: string } }> }>;
};
const targets = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is not runnable (${r.error.message}); install the Debian package 'prometheus'`);
  return { status: r.status, output: r.stdout + r.stderr };
}

describe('infra/grafana and infra/prometheus', () => {
  it('every metric the dashboard queries is one the API exports', async () => {
    const m = createPrometheus({
      processMetrics: false,
      snapshot: async () => ({
        jobsByState: { queued: 0, parked: 0, running: 1, succeeded: 0, failed: 0, cancelled: 0 },
        jobs: [{ id: 'j', model: 'mlp', state: 'running', replicas: 1, epoch: 1, epochs: 2, liveImagesPerSec: 1, last: { epoch: 1, trainLoss: 1, trainAcc: 0.5, testLoss: 1, testAcc: 0.5, seconds: 1, imagesPerSec: 1, backend: 'cpu' } }],
        trainers: [{ id: 't', host: 'h', pid: 1, backend: 'cpu', state: 'idle', startedAt: 'x', lastSeen: 'y' }],
        errors: 0,
      }),
    });
    m.observe({ method: 'GET', route: '/', status: 200, seconds: 0.1 });
    const exported = new Set([...(await m.render()).body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!])));
    const used = new Set(targets.flatMap((t) => [...t.expr.matchAll(/\bmnist_[a-z_]+/g)].map((x) => x[0])));
    expect(used.size).toBeGreaterThan(8);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('every query is valid PromQL and uses the provisioned datasource', () => {
    const provisioned = readFileSync(join(INFRA, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8');
    expect(provisioned).toMatch(/^\s+uid: prometheus$/m);
    for (const t of targets) expect(t.datasource.uid, t.panel).toBe('prometheus');
    // promtool has no "check expression": recording rules over the same expressions are checked instead.
    const rules = targets.map((t, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(t.expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*'))}`).join('\n');
    const file = join(mkdtempSync(join(tmpdir(), 'rules-')), 'rules.yml');
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
    const r = promtool(['check', 'rules', file]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain(`SUCCESS: ${targets.length} rules found`);
  });

  it('prometheus.yml is a valid config that scrapes the API with its token', () => {
    const text = readFileSync(join(INFRA, 'prometheus', 'prometheus.yml'), 'utf8');
    expect(text).toContain('credentials_file: /run/secrets/api_token');
    const dir = mkdtempSync(join(tmpdir(), 'prom-'));
    writeFileSync(join(dir, 'token'), '');
    writeFileSync(join(dir, 'prometheus.yml'), text.replace('/run/secrets/api_token', join(dir, 'token')));
    const r = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
    expect(r.status, r.output).toBe(0);
  });
});
