import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillVariables, INFRA_DIR as INFRA, loadDashboards } from '../testing/grafana-dashboards.js';
import { createPrometheus } from './prometheus.js';

const dashboards = loadDashboards();
const targets = dashboards.flatMap((d) =>
  d.panels.flatMap((p) => p.targets.map((t) => ({ panel: `${d.file}: ${p.title}`, variables: d.variables, ...t }))),
);

function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  if (r.error)
    throw new Error(`promtool is not runnable (${r.error.message}); install the Debian package 'prometheus'`);
  return { status: r.status, output: r.stdout + r.stderr };
}

describe('infra/grafana and infra/prometheus', () => {
  it('finds the shipped dashboard and its job variable', () => {
    expect(dashboards.map((d) => d.file)).toContain('mnist-fleet.json');
    expect(dashboards.find((d) => d.file === 'mnist-fleet.json')!.variables).toEqual([
      { name: 'job_id', metric: 'mnist_job_info', label: 'job_id' },
    ]);
  });

  it('every metric the dashboards and the alert rules query is one the API exports', async () => {
    const m = createPrometheus({
      processMetrics: false,
      snapshot: async () => ({
        jobsByState: { queued: 0, parked: 0, running: 1, succeeded: 0, failed: 0, cancelled: 0 },
        jobs: [
          {
            id: 'j',
            model: 'mlp',
            state: 'running',
            replicas: 1,
            epoch: 1,
            epochs: 2,
            liveImagesPerSec: 1,
            lostTrainers: 0,
            ranks: 2,
            last: {
              epoch: 1,
              trainLoss: 1,
              trainAcc: 0.5,
              testLoss: 1,
              testAcc: 0.5,
              seconds: 1,
              imagesPerSec: 1,
              backend: 'cpu',
            },
          },
        ],
        trainers: [{ id: 't', host: 'h', pid: 1, backend: 'cpu', state: 'idle', startedAt: 'x', lastSeen: 'y' }],
        trainersWanted: 0,
        errors: 0,
      }),
    });
    m.observe({ method: 'GET', route: '/', status: 200, seconds: 0.1 });
    const exported = new Set(
      [...(await m.render()).body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
        type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
      ),
    );
    const alertExprs = [
      ...readFileSync(join(INFRA, 'prometheus', 'alerts.yml'), 'utf8').matchAll(/^\s+expr: (.*)$/gm),
    ].map((x) => x[1]!);
    expect(alertExprs).toHaveLength(5);
    const used = new Set(
      [...targets.map((t) => t.expr), ...alertExprs].flatMap((e) =>
        [...e.matchAll(/\bmnist_[a-z_]+/g)].map((x) => x[0]),
      ),
    );
    expect(used.size).toBeGreaterThan(8);
    expect(used).toContain('mnist_job_trainers_lost');
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('every query is valid PromQL and uses the provisioned datasource', () => {
    const provisioned = readFileSync(join(INFRA, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8');
    expect(provisioned).toMatch(/^\s+uid: prometheus$/m);
    for (const t of targets) expect(t.datasource.uid, t.panel).toBe('prometheus');
    // promtool has no "check expression": recording rules over the same expressions are checked instead.
    const rules = targets
      .map((t, i) => {
        const values = { __rate_interval: '1m', ...Object.fromEntries(t.variables.map((v) => [v.name, '.*'])) };
        return `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(fillVariables(t.expr, values))}`;
      })
      .join('\n');
    const file = join(mkdtempSync(join(tmpdir(), 'rules-')), 'rules.yml');
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
    const r = promtool(['check', 'rules', file]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain(`SUCCESS: ${targets.length} rules found`);
  });

  it('prometheus.yml is a valid config that scrapes the API with its token and loads the alerts', () => {
    const text = readFileSync(join(INFRA, 'prometheus', 'prometheus.yml'), 'utf8');
    expect(text).toContain('credentials_file: /run/secrets/api_token');
    const dir = mkdtempSync(join(tmpdir(), 'prom-'));
    cpSync(join(INFRA, 'prometheus'), dir, { recursive: true });
    writeFileSync(join(dir, 'token'), '');
    writeFileSync(join(dir, 'prometheus.yml'), text.replace('/run/secrets/api_token', join(dir, 'token')));
    const r = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain(`Checking ${join(dir, 'alerts.yml')}\n  SUCCESS: 5 rules found`);
  });

  it('the alert rules pass promtool check rules and test rules (each alert fires, stays quiet when it should)', () => {
    const check = promtool(['check', 'rules', join(INFRA, 'prometheus', 'alerts.yml')]);
    expect(check.status, check.output).toBe(0);
    expect(check.output).toContain('SUCCESS: 5 rules found');
    const test = promtool(['test', 'rules', join(INFRA, 'prometheus', 'alerts.test.yml')]);
    expect(test.status, test.output).toBe(0);
    expect(test.output).toContain('SUCCESS');
  });
});
